#!/usr/bin/env bash
# Deploy the Function app to Azure: the infrastructure in infra/ (Bicep, resource-group scope)
# and then the code (zip of the repository root, built remotely). Safe to run again: every step
# is idempotent. See docs/deploy.md.
#
#   scripts/deploy.sh --resource-group <rg> --location <region> [--name-prefix <prefix>]
#                     [--network public|private] [--what-if] [--skip-code]
#
# Configuration and secrets come from environment variables named like the app settings they
# become (read by infra/main.bicepparam when az compiles it; never put on a command line):
#   required: INQUBA_TOKEN_HOST INQUBA_TENANT INQUBA_USERNAME INQUBA_CLIENT_ID INSIDER_PARTNER_NAME
#             INQUBA_PASSWORD INQUBA_CLIENT_SECRET INSIDER_API_KEY   (the last three are secrets)
#   optional: INQUBA_TOKEN_URL INQUBA_API_URL DEPLOYER_PRINCIPAL_ID DEPLOYER_PRINCIPAL_TYPE
#             ALERT_EMAIL PAGE_AUTH_GROUP_ID PAGE_AUTH_CLIENT_ID
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PARAM_FILE="$ROOT_DIR/infra/main.bicepparam"

REQUIRED_SETTINGS=(INQUBA_TOKEN_HOST INQUBA_TENANT INQUBA_USERNAME INQUBA_CLIENT_ID INSIDER_PARTNER_NAME)
REQUIRED_SECRETS=(INQUBA_PASSWORD INQUBA_CLIENT_SECRET INSIDER_API_KEY)

# Code deployment right after the role assignments can fail until they propagate: retry.
ZIP_DEPLOY_ATTEMPTS="${ZIP_DEPLOY_ATTEMPTS:-3}"
ZIP_DEPLOY_RETRY_SECONDS="${ZIP_DEPLOY_RETRY_SECONDS:-30}"

usage() {
  cat <<'EOF'
Usage: scripts/deploy.sh --resource-group <rg> [--location <region>] [--name-prefix <prefix>]
                         [--network public|private] [--what-if] [--skip-code]

  --resource-group, -g  Resource group to deploy into; created if missing (env AZURE_RESOURCE_GROUP).
  --location, -l        Region of the group; must support Flex Consumption
                        (az functionapp list-flexconsumption-locations -o table). Needed only when
                        the group does not exist yet (env AZURE_LOCATION).
  --name-prefix         2-12 lowercase letters, digits or single hyphens, starting with a letter;
                        prefix of every resource name (env NAME_PREFIX, default: inqins).
  --network             public (default): storage and Key Vault on public endpoints (Entra ID only).
                        private: VNet integration, private endpoints, NAT gateway with a static
                        outbound IPv4, shown at the end (env NETWORK). See docs/deploy.md.
  --what-if             Show what the infrastructure deployment would change; change nothing.
  --skip-code           Deploy the infrastructure only, not the code.
  -h, --help            This help.

Environment (names of the app settings they become; values are never printed):
  required  INQUBA_TOKEN_HOST INQUBA_TENANT INQUBA_USERNAME INQUBA_CLIENT_ID INSIDER_PARTNER_NAME
  secrets   INQUBA_PASSWORD INQUBA_CLIENT_SECRET INSIDER_API_KEY
  optional  INQUBA_TOKEN_URL INQUBA_API_URL DEPLOYER_PRINCIPAL_ID DEPLOYER_PRINCIPAL_TYPE
            ALERT_EMAIL (alert e-mails), PAGE_AUTH_GROUP_ID + PAGE_AUTH_CLIENT_ID (Entra sign-in
            for the operations page; both or neither)
EOF
}

log() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

resource_group="${AZURE_RESOURCE_GROUP:-}"
location="${AZURE_LOCATION:-}"
name_prefix="${NAME_PREFIX:-inqins}"
network="${NETWORK:-public}"
what_if=false
skip_code=false

need_value() {
  # $1 = option, $2 = number of remaining arguments (including the option itself)
  if [[ "$2" -lt 2 ]]; then
    die "$1 needs a value (see --help)"
  fi
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    -g | --resource-group)
      need_value "$1" "$#"
      resource_group="$2"
      shift 2
      ;;
    --resource-group=*)
      resource_group="${1#*=}"
      shift
      ;;
    -l | --location)
      need_value "$1" "$#"
      location="$2"
      shift 2
      ;;
    --location=*)
      location="${1#*=}"
      shift
      ;;
    --name-prefix)
      need_value "$1" "$#"
      name_prefix="$2"
      shift 2
      ;;
    --name-prefix=*)
      name_prefix="${1#*=}"
      shift
      ;;
    --network)
      need_value "$1" "$#"
      network="$2"
      shift 2
      ;;
    --network=*)
      network="${1#*=}"
      shift
      ;;
    --what-if)
      what_if=true
      shift
      ;;
    --skip-code)
      skip_code=true
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument: $1"
      ;;
  esac
done

# ---- Validate the input before touching Azure ----------------------------------------------

group_re='^[-_.()[:alnum:]]{1,90}$'
prefix_re='^[a-z][a-z0-9]*(-[a-z0-9]+)*$'
location_re='^[a-z0-9]+$'

[[ -n "$resource_group" ]] || die "--resource-group is required (see --help)"
if [[ ! "$resource_group" =~ $group_re || "$resource_group" == *. ]]; then
  die "invalid resource group name: $resource_group"
fi
if [[ ! "$name_prefix" =~ $prefix_re || ${#name_prefix} -lt 2 || ${#name_prefix} -gt 12 ]]; then
  die "invalid --name-prefix '$name_prefix': 2-12 lowercase letters, digits or single hyphens, starting with a letter"
fi
# "West Europe" -> "westeurope"
location="$(printf '%s' "$location" | tr -d '[:space:]' | tr '[:upper:]' '[:lower:]')"
if [[ -n "$location" && ! "$location" =~ $location_re ]]; then
  die "invalid --location '$location' (expected a region name such as swedencentral)"
fi
if [[ "$network" != public && "$network" != private ]]; then
  die "invalid --network '$network': public or private"
fi
[[ -f "$PARAM_FILE" ]] || die "parameter file not found: $PARAM_FILE"

missing=()
for var in "${REQUIRED_SETTINGS[@]}" "${REQUIRED_SECRETS[@]}"; do
  if [[ -z "${!var:-}" ]]; then
    missing+=("$var")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  die "missing environment variables: ${missing[*]} (export them first; see docs/deploy.md)"
fi
if [[ "$INSIDER_PARTNER_NAME" != "$(printf '%s' "$INSIDER_PARTNER_NAME" | tr '[:upper:]' '[:lower:]')" ]]; then
  die "INSIDER_PARTNER_NAME must be lowercase (Insider requires it; the app refuses to start otherwise)"
fi
if [[ -n "${PAGE_AUTH_GROUP_ID:-}" && -z "${PAGE_AUTH_CLIENT_ID:-}" ]] || [[ -z "${PAGE_AUTH_GROUP_ID:-}" && -n "${PAGE_AUTH_CLIENT_ID:-}" ]]; then
  die "set both PAGE_AUTH_GROUP_ID and PAGE_AUTH_CLIENT_ID for the operations page sign-in, or neither (see docs/deploy.md)"
fi

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed: https://learn.microsoft.com/cli/azure/install-azure-cli"
if [[ "$skip_code" == false && "$what_if" == false ]]; then
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to package the code (or use --skip-code)"
fi

# ---- Azure login and resource group --------------------------------------------------------

if ! account="$(az account show --query '[name, id]' --output tsv 2>/dev/null)"; then
  die "not logged in to Azure: run 'az login' (and 'az account set --subscription <id>'), then run this again"
fi
log "Subscription: $(printf '%s' "$account" | paste -sd ' ' -)"

group_location="$(az group show --name "$resource_group" --query location --output tsv 2>/dev/null || true)"
if [[ -z "$location" ]]; then
  [[ -n "$group_location" ]] || die "resource group '$resource_group' does not exist: pass --location to create it"
  location="$group_location"
fi

if flex_regions="$(az functionapp list-flexconsumption-locations --query '[].name' --output tsv 2>/dev/null)"; then
  if ! printf '%s\n' "$flex_regions" | tr -d ' \r' | tr '[:upper:]' '[:lower:]' | grep -qx "$location"; then
    die "region '$location' does not offer Flex Consumption; pick one from: az functionapp list-flexconsumption-locations -o table"
  fi
else
  warn "could not list the Flex Consumption regions; assuming '$location' offers it"
fi

if [[ -n "$group_location" ]]; then
  if [[ "$group_location" != "$location" ]]; then
    die "resource group '$resource_group' already exists in '$group_location', not '$location'"
  fi
  log "Resource group $resource_group exists ($location)"
elif [[ "$what_if" == true ]]; then
  log "Resource group $resource_group does not exist: a deployment would create it and every resource in infra/main.bicep."
  log "(what-if needs an existing group; nothing was changed)"
  exit 0
else
  log "Creating resource group $resource_group in $location"
  az group create --name "$resource_group" --location "$location" \
    --tags app=inquba-insider-functions --output none
fi

# ---- Infrastructure ------------------------------------------------------------------------

# main.bicepparam reads NAME_PREFIX, NETWORK and the settings/secrets above from the environment.
export NAME_PREFIX="$name_prefix"
export NETWORK="$network"
deployment_name="${name_prefix}-infra-$(date -u +%Y%m%d%H%M%S)"

if [[ "$what_if" == true ]]; then
  log "What-if of infra/main.bicep ($network network) in $resource_group (nothing is changed)"
  az deployment group what-if --resource-group "$resource_group" --name "$deployment_name" \
    --parameters "$PARAM_FILE"
  exit 0
fi

log "Deploying infra/main.bicep ($network network) to $resource_group (deployment $deployment_name)"
az deployment group create --resource-group "$resource_group" --name "$deployment_name" \
  --parameters "$PARAM_FILE" --output none

outputs="$(az deployment group show --resource-group "$resource_group" --name "$deployment_name" \
  --query '[properties.outputs.functionAppName.value, properties.outputs.functionAppBaseUrl.value, properties.outputs.applicationInsightsName.value, properties.outputs.outboundIpAddress.value]' \
  --output tsv)"
{
  read -r app_name
  read -r base_url
  read -r app_insights_name
  read -r outbound_ip || true
} <<<"$outputs"
[[ -n "${app_name:-}" && -n "${base_url:-}" ]] || die "the deployment returned no function app name / URL"
log "Function app $app_name is deployed"

# ---- Code ----------------------------------------------------------------------------------

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

package_app() {
  # Zip the repository root as Flex Consumption expects for a Python remote build, leaving out
  # what .funcignore (gitignore syntax) lists, plus a baseline of things that are never deployed.
  python3 - "$ROOT_DIR" "$1" <<'PY'
import os
import re
import sys
import zipfile

root, out = sys.argv[1], sys.argv[2]

BASELINE = """
.git/
.venv*/
venv/
node_modules/
tests/
test/
local.settings.json
__pycache__/
*.py[cod]
.pytest_cache/
.ruff_cache/
.mypy_cache/
.coverage
htmlcov/
test-artifacts/
.azurite/
__azurite_db*__.json
__blobstorage__/
__queuestorage__/
.vscode/
.idea/
.DS_Store
*.zip
infra/
scripts/
package.json
package-lock.json
""".split()


def translate(glob):
    rx, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            rx, i = rx + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            rx, i = rx + ".*", i + 2
        elif glob[i] == "*":
            rx, i = rx + "[^/]*", i + 1
        elif glob[i] == "?":
            rx, i = rx + "[^/]", i + 1
        elif glob[i] == "[" and "]" in glob[i + 1:]:
            end = glob.index("]", i + 1)
            body = glob[i + 1:end].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            rx, i = rx + "[" + body + "]", end + 1
        else:
            rx, i = rx + re.escape(glob[i]), i + 1
    return rx


def compile_rules(lines):
    rules = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        line = line.rstrip()
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        if line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.strip("/") if dir_only else line
        anchored = "/" in line
        line = line.lstrip("/")
        if not line:
            continue
        rules.append((re.compile(translate(line) + r"\Z"), negate, dir_only, anchored))
    return rules


rules = compile_rules(BASELINE)
funcignore = os.path.join(root, ".funcignore")
if os.path.isfile(funcignore):
    with open(funcignore, encoding="utf-8") as handle:
        rules += compile_rules(handle.readlines())


def ignored(rel, is_dir):
    result = False
    for rx, negate, dir_only, anchored in rules:
        if dir_only and not is_dir:
            continue
        if rx.match(rel if anchored else rel.rsplit("/", 1)[-1]):
            result = not negate
    return result


files = []
for current, dirs, names in os.walk(root):
    rel_dir = os.path.relpath(current, root).replace(os.sep, "/")
    rel_dir = "" if rel_dir == "." else rel_dir + "/"
    dirs[:] = sorted(d for d in dirs if not ignored(rel_dir + d, True))
    files += [rel_dir + n for n in sorted(names) if not ignored(rel_dir + n, False)]

missing = [name for name in ("function_app.py", "host.json", "requirements.txt") if name not in files]
if missing:
    sys.exit("the package would have no " + ", ".join(missing) + " at its root; nothing to deploy")

with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
    for rel in files:
        archive.write(os.path.join(root, rel), rel)
print(f"{len(files)} files, {os.path.getsize(out)} bytes")
PY
}

if [[ "$skip_code" == true ]]; then
  log "Skipping the code deployment (--skip-code)"
else
  package="$work_dir/app.zip"
  log "Packaging $ROOT_DIR (honouring .funcignore)"
  package_app "$package"

  attempt=1
  until az functionapp deployment source config-zip --resource-group "$resource_group" \
    --name "$app_name" --src "$package" --build-remote true --output none; do
    if [[ "$attempt" -ge "$ZIP_DEPLOY_ATTEMPTS" ]]; then
      die "code deployment failed $attempt times; run this script again (it is idempotent)"
    fi
    warn "code deployment failed (attempt $attempt of $ZIP_DEPLOY_ATTEMPTS; new role assignments can take a few minutes); retrying in ${ZIP_DEPLOY_RETRY_SECONDS}s"
    sleep "$ZIP_DEPLOY_RETRY_SECONDS"
    attempt=$((attempt + 1))
  done
  log "Code deployed (remote build)"
fi

# ---- Summary -------------------------------------------------------------------------------

cat <<EOF

Function app:  $app_name
Base URL:      $base_url
Logs:          Application Insights '${app_insights_name:-?}' in resource group $resource_group

Read the default function key (send it as the x-functions-key header, or ?code=):
  az functionapp keys list --resource-group $resource_group --name $app_name --query functionKeys.default --output tsv

Check that the app reaches its storage (anonymous; allow a few minutes after the first deployment):
  curl -sS $base_url/health
EOF
if [[ "$network" == private ]]; then
  [[ -n "${outbound_ip:-}" ]] || die "the private deployment returned no outbound IP address"
  cat <<EOF

Outbound IP:   $outbound_ip
  Every call to inQuba and Insider leaves from this static IPv4 address (NAT gateway). Give it to
  Insider (IP allow-list of the UCD API key) and to inQuba if they restrict by IP.
EOF
fi
