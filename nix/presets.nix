# Settings of the launcher presets, as plain data: each preset is a
# wrapped launcher whose package defaults layer is these settings rendered
# as TOML. Kept free of nixpkgs so the test suite can evaluate it and
# check every key against the launcher's schema.
{
  claude-sandbox = { };
  claude-sandbox-no-network = { network = "off"; };
  claude-sandbox-container = { backend = "container"; };
  claude-sandbox-container-no-network = { backend = "container"; network = "off"; };
  claude-sandbox-vm = { backend = "vm"; };
  claude-sandbox-vm-no-network = { backend = "vm"; network = "off"; };
}
