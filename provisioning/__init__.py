"""IT tooling: site CA and keys, broker config and ACL, room inventory, device bundles."""
