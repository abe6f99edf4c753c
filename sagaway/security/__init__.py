"""Security: API keys with scopes and tenants, vault tokens, and the worker's vault client."""
