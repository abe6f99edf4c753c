"""Development tools: the local stack, the embedded servers, the scaffold, history recording."""
