"""Provider webhooks in: verified deliveries become CloudEvents (`POST /webhooks/{name}`)."""
