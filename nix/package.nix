# The claude-sandbox package: the static Go launcher, wrapped with the
# tools its backends run, and a package defaults layer (a TOML file whose
# path is fixed at build time) that points the container and vm backends
# at artifacts Nix provides. `withSettings` returns the same launcher with
# more settings in that layer.
{ lib
, buildGoModule
, makeWrapper
, installShellFiles
, formats
, bubblewrap
, util-linux
, systemd
, qemu_kvm
, passt
, xdg-dbus-proxy
, slirp4netns
, linuxPackages
, containerRoot ? null
, settings ? { }
, name ? "claude-sandbox"
}:

let
  version = "0.1.0";
  toml = formats.toml { };
  kernel = linuxPackages.kernel;
  # What the Nix package knows better than a generic build: a kernel
  # with its modules for the vm backend, and a NixOS system closure as
  # the container's root.
  nixDefaults = import ./package-defaults.nix {
    kernelImage = "${kernel}/bzImage";
    containerRoot = if containerRoot == null then null else "${containerRoot}";
  };
  defaultsFile = toml.generate "claude-sandbox-defaults.toml" (lib.recursiveUpdate nixDefaults settings);
  self = buildGoModule {
    pname = name;
    inherit version;
    src = lib.cleanSource ./..;
    vendorHash = import ./vendor-hash.nix;
    subPackages = [ "cmd/claude-sandbox" "cmd/sandbox-probe" ];
    env.CGO_ENABLED = "0";
    ldflags = [
      "-s"
      "-w"
      "-X main.version=${version}"
      "-X main.packageDefaults=${placeholder "out"}/share/claude-sandbox/defaults.toml"
    ];
    nativeBuildInputs = [ makeWrapper installShellFiles ];
    # The unit tests and the command-line scripts run in the build; the
    # integration tests need real sandboxes and skip inside the build
    # sandbox, where CI is not set and bwrap, nspawn and QEMU are absent.
    postInstall = ''
      install -Dm644 ${defaultsFile} $out/share/claude-sandbox/defaults.toml
      ${lib.optionalString (name != "claude-sandbox") "mv $out/bin/claude-sandbox $out/bin/${name}"}
      wrapProgram $out/bin/${name} \
        --prefix PATH : ${lib.makeBinPath [ bubblewrap util-linux systemd qemu_kvm passt xdg-dbus-proxy slirp4netns ]}
      $out/bin/${name} completion bash > ${name}.bash
      $out/bin/${name} completion zsh > _${name}
      $out/bin/${name} completion fish > ${name}.fish
      installShellCompletion --bash ${name}.bash --zsh _${name} --fish ${name}.fish
      $out/bin/${name} man > ${name}.1
      installManPage ${name}.1
    '';
    passthru = { inherit defaultsFile; };
    meta = {
      description = "Run an AI coding agent in a bubblewrap, systemd-nspawn or QEMU sandbox driven by TOML profiles";
      license = lib.licenses.mit;
      platforms = lib.platforms.linux;
      mainProgram = name;
    };
  };
in
self
