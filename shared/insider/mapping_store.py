"""The Insider mapping document in blob storage, with ETags so two editors cannot overwrite each other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

from shared.insider.compiled_mapping import CompiledMapping, load_mapping

BLOB_NAME = "mapping.json"
DEFAULT_ETAG = '"default"'  # the ETag of "no mapping stored yet: the default file is in use"
DEFAULT_MAPPING_PATH = Path(__file__).with_name("mapping.default.json")


class MappingConflict(Exception):
    """The If-Match ETag is not the stored mapping's: someone else saved in between."""


class MappingStore:
    def __init__(self, container: ContainerClient, default_path: Path = DEFAULT_MAPPING_PATH) -> None:
        self.container = container
        self.default_document: dict[str, Any] = json.loads(default_path.read_text())
        self._compiled: tuple[str, CompiledMapping] | None = None

    async def get(self) -> tuple[dict[str, Any], str]:
        """The stored document and its ETag, or the default document and `DEFAULT_ETAG`."""
        blob = self.container.get_blob_client(BLOB_NAME)
        try:
            downloader = await blob.download_blob()
        except ResourceNotFoundError:
            return self.default_document, DEFAULT_ETAG
        return json.loads(await downloader.readall()), str(downloader.properties.etag)

    async def compiled(self) -> CompiledMapping:
        """The mapping in force, compiled once per ETag."""
        document, etag = await self.get()
        if self._compiled is None or self._compiled[0] != etag:
            self._compiled = (etag, load_mapping(document))
        return self._compiled[1]

    async def put(self, document: dict[str, Any], if_match: str) -> str:
        """Store `document` (already validated) if `if_match` is the current ETag; returns the new ETag."""
        if "," in if_match:
            # A valid entity tag (RFC 9110), but Blob storage reads a comma as a list and refuses the request;
            # the store never issues one, so it cannot match: 412, as for any other ETag that does not.
            raise MappingConflict("an ETag the store never issues")
        blob = self.container.get_blob_client(BLOB_NAME)
        data = json.dumps(document, ensure_ascii=False, indent=2).encode()
        try:
            if if_match == DEFAULT_ETAG:
                result = await blob.upload_blob(data, overwrite=False)
            else:
                result = await blob.upload_blob(
                    data, overwrite=True, etag=if_match, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError) as exc:
            raise MappingConflict(str(type(exc).__name__)) from None
        return str(result["etag"])
