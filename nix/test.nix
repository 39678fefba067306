# NixOS VM test: a normal user launches the bubblewrap backend on a
# project; the probe inside reports that the home directory is hidden and
# the project writable.
{ pkgs, self }:
pkgs.testers.nixosTest {
  name = "claude-sandbox-bubblewrap";
  nodes.machine = { ... }: {
    imports = [ self.nixosModules.default ];
    nixpkgs.overlays = [ self.overlays.default ];
    programs.claude-sandbox.enable = true;
    users.users.alice = { isNormalUser = true; uid = 1000; };
  };
  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.succeed("su alice -c 'mkdir -p ~/proj && echo secret > ~/secret.txt'")
    machine.succeed("cp ${pkgs.claude-sandbox}/bin/sandbox-probe /home/alice/proj/probe && chown alice /home/alice/proj/probe")
    out = machine.succeed(
      "su alice -c 'cd ~/proj && claude-sandbox --no-network --shell . -- -c \"./probe -path /home/alice/secret.txt -write /home/alice/proj/x\"'"
    )
    import json
    report = json.loads(next(l for l in out.splitlines() if l.startswith("{")))
    assert not report["Paths"]["/home/alice/secret.txt"]["Exists"], report
    assert report["Written"]["/home/alice/proj/x"] == "ok", report
    machine.succeed("test -O /home/alice/proj/x || test $(stat -c %u /home/alice/proj/x) = 1000")
  '';
}
