{
  description = "claude-sandbox: run an AI coding agent in a bubblewrap, systemd-nspawn or QEMU sandbox driven by TOML profiles";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f (import nixpkgs {
        inherit system;
        overlays = [ self.overlays.default ];
      }));
      presetNames = builtins.attrNames (import ./nix/presets.nix);
    in
    {
      overlays.default = import ./nix/overlay.nix;

      packages = forAll (pkgs:
        nixpkgs.lib.genAttrs presetNames (n: pkgs.${n}) // { default = pkgs.claude-sandbox; });

      apps = forAll (pkgs: {
        default = { type = "app"; program = "${pkgs.claude-sandbox}/bin/claude-sandbox"; };
      });

      nixosModules.default = import ./nix/module.nix;
      homeManagerModules.default = import ./nix/hm-module.nix;

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [ go gopls bubblewrap qemu_kvm shellcheck passt slirp4netns ];
        };
      });

      checks = forAll (pkgs: {
        package = pkgs.claude-sandbox;
        bubblewrap = import ./nix/test.nix { inherit pkgs self; };
      });
    };
}
