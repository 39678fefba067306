# Settings the NixOS module writes on its own, as plain data (checked
# against the launcher's schema by the test suite).
{
  network = "full";
}
