package main

import (
	"fmt"
	"os"

	"github.com/claude-sandbox/claude-sandbox/backends"
	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render"
)

// exportCmd writes the policy for another engine: an OCI runtime bundle or
// a Kubernetes Pod manifest.
type exportCmd struct {
	selection
	Format       string `enum:"oci,k8s" required:"" help:"What to write: oci (a runtime bundle directory) or k8s (a Pod manifest)." placeholder:"FORMAT"`
	Output       string `short:"o" help:"oci: the bundle directory to create (required); k8s: the manifest file (default: standard output)." placeholder:"PATH"`
	Image        string `default:"node:22-bookworm-slim" help:"k8s: the container image; it must hold the command." placeholder:"IMAGE"`
	RuntimeClass string `name:"runtime-class" help:"k8s: the Pod's runtimeClassName (gvisor, kata, ...); overrides oci.runtime_class." placeholder:"NAME"`
	Claim        string `default:"claude-sandbox-project" help:"k8s: the PersistentVolumeClaim holding the project." placeholder:"NAME"`
	HostPath     string `name:"host-path" help:"k8s: mount the project from this node directory instead of a claim (single-node clusters)." placeholder:"DIR"`
	Secret       string `default:"claude-sandbox-env" help:"k8s: the Secret whose keys hold the secret variables." placeholder:"NAME"`
	Name         string `default:"claude-sandbox" help:"k8s: the Pod's name." placeholder:"NAME"`
	ProxyImage   string `name:"proxy-image" help:"k8s, network allowlist: the image of the egress proxy sidecar, holding claude-sandbox on its PATH (default: --image)." placeholder:"IMAGE"`
	Project      string `arg:"" optional:"" default:"." help:"Project directory (default: the current directory)."`
}

// Run writes the export.
func (c *exportCmd) Run(s stdio) error {
	flags := c.flags(nil)
	flags.Backend = profile.OCI
	sess, err := resolveSession(c.Project, flags)
	if err != nil {
		return err
	}
	if sess.trustState == trustUntrusted {
		return sess.untrustedError()
	}
	p := sess.policy
	switch c.Format {
	case "oci":
		if c.Output == "" {
			return fmt.Errorf("export --format=oci needs --output DIR, the bundle directory to create")
		}
		notes, err := backends.ExportOCI(p, c.Output)
		if err != nil {
			return err
		}
		for _, n := range notes {
			fmt.Fprintf(s.err, "claude-sandbox: %s\n", n)
		}
		fmt.Fprintf(s.err, "claude-sandbox: bundle written to %s; run it on this host with: runc run --bundle %s claude-sandbox\n", c.Output, c.Output)
		return nil
	default:
		m, err := backends.ExportK8s(p, render.K8sOptions{Name: c.Name, Image: c.Image, RuntimeClass: c.RuntimeClass,
			ProjectClaim: c.Claim, HostPath: c.HostPath, Secret: c.Secret, ProxyImage: c.ProxyImage})
		if err != nil {
			return err
		}
		if c.Output == "" {
			_, err = s.out.Write(m)
			return err
		}
		if err := os.WriteFile(c.Output, m, 0o644); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	}
}
