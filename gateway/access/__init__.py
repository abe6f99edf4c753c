"""Who may call: API keys and OIDC tokens, scopes, tenants, per-key limits, key administration."""
