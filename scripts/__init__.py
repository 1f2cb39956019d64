"""Project scripts (deploy.sh, generate_api_docs.py)."""
