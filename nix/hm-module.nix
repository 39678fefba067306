# home-manager module: programs.claude-sandbox writes the user layer,
# $XDG_CONFIG_HOME/claude-sandbox/config.toml, from settings.
{ config, lib, pkgs, ... }:
let
  cfg = config.programs.claude-sandbox;
  toml = pkgs.formats.toml { };
in
{
  options.programs.claude-sandbox = {
    enable = lib.mkEnableOption "claude-sandbox";
    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.claude-sandbox or (pkgs.callPackage ./package.nix { });
      defaultText = lib.literalExpression "pkgs.claude-sandbox";
      description = "The claude-sandbox package.";
    };
    settings = lib.mkOption {
      type = toml.type;
      default = { };
      description = "Settings of the user layer; see claude-sandbox.example.toml for every key.";
    };
  };
  config = lib.mkIf cfg.enable {
    home.packages = [ cfg.package ];
    xdg.configFile."claude-sandbox/config.toml" = lib.mkIf (cfg.settings != { }) {
      source = toml.generate "claude-sandbox-config.toml" cfg.settings;
    };
  };
}
