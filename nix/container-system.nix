# The NixOS system whose closure is the container backend's root on
# NixOS: the usual userland for a coding agent. systemd never boots in it;
# the launcher runs the command as PID 2 from this system's sw/bin.
{ pkgs }:
import "${pkgs.path}/nixos/lib/eval-config.nix" {
  inherit (pkgs) system;
  modules = [
    ({ ... }: {
      boot.isNspawnContainer = true;
      networking.useDHCP = false;
      networking.hostName = "claude-sandbox";
      environment.systemPackages = with pkgs; [
        bashInteractive coreutils gnugrep gnused gawk findutils diffutils gnutar gzip xz
        git openssh curl cacert nodejs python3 ripgrep jq less which procps util-linux
      ];
      system.stateVersion = "24.11";
    })
  ];
}
