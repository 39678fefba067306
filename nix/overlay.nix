# The overlay: claude-sandbox, its presets, and withSettings.
#
#   claude-sandbox.withSettings { network = "off"; backend = "vm"; }
#
# returns the launcher with those settings in its package defaults layer
# (explain cites the generated file like any other layer).
final: prev:
let
  lib = final.lib;
  presets = import ./presets.nix;
  containerRoot = (import ./container-system.nix { pkgs = final; }).config.system.build.toplevel;
  base = final.callPackage ./package.nix { inherit containerRoot; };
  withName = pkg: pkg // {
    withSettings = settings: withName (pkg.override (old: {
      settings = lib.recursiveUpdate (old.settings or { }) settings;
    }));
  };
  preset = name: settings: withName (base.override { inherit name settings; });
in
{
  claude-sandbox = withName base;
} // lib.mapAttrs preset (removeAttrs presets [ "claude-sandbox" ])
