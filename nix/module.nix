# NixOS module: programs.claude-sandbox.
#
#   programs.claude-sandbox = {
#     enable = true;
#     network = "allowlist";
#     settings.egress.allow = [ "api.anthropic.com" "*.github.com" ];
#     container.enable = true;
#   };
#
# settings is free-form and becomes /etc/claude-sandbox/config.toml, which
# is exactly the launcher's system layer.
{ config, lib, pkgs, ... }:
let
  cfg = config.programs.claude-sandbox;
  toml = pkgs.formats.toml { };
  defaults = import ./module-defaults.nix;
in
{
  options.programs.claude-sandbox = {
    enable = lib.mkEnableOption "claude-sandbox, the sandbox launcher for AI coding agents";
    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.claude-sandbox or (pkgs.callPackage ./package.nix { });
      defaultText = lib.literalExpression "pkgs.claude-sandbox";
      description = "The claude-sandbox package.";
    };
    settings = lib.mkOption {
      type = toml.type;
      default = { };
      description = "Settings written to /etc/claude-sandbox/config.toml (the system layer); see claude-sandbox.example.toml for every key.";
    };
    network = lib.mkOption {
      type = lib.types.enum [ "off" "allowlist" "full" "host" ];
      default = defaults.network;
      description = "The default network mode of every sandbox.";
    };
    bubblewrap.enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Allow the bubblewrap backend: enables unprivileged user namespaces.";
    };
    container.enable = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Allow the container backend (systemd-nspawn, run through sudo).";
    };
    vm.enable = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Allow the vm backend: loads KVM.";
    };
    vm.users = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "Users given access to /dev/kvm (the kvm group) for the vm backend.";
    };
  };

  config = lib.mkIf cfg.enable {
    environment.systemPackages = [ cfg.package ];
    environment.etc."claude-sandbox/config.toml".source =
      toml.generate "claude-sandbox-config.toml" (lib.recursiveUpdate { network = cfg.network; } cfg.settings);
    security.unprivilegedUsernsClone = lib.mkIf cfg.bubblewrap.enable true;
    boot.kernelModules = lib.mkIf cfg.vm.enable [ "kvm-intel" "kvm-amd" ];
    users.users = lib.mkIf cfg.vm.enable (lib.genAttrs cfg.vm.users (_: { extraGroups = [ "kvm" ]; }));
    assertions = [{
      assertion = cfg.bubblewrap.enable || cfg.container.enable || cfg.vm.enable;
      message = "programs.claude-sandbox: enable at least one backend";
    }];
  };
}
