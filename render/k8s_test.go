package render

import (
	"slices"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render/kube/kubetest"
	corev1 "k8s.io/api/core/v1"
)

func k8sOptions() K8sOptions {
	return K8sOptions{Name: "claude-sandbox", Image: "node:22-bookworm-slim", ProjectClaim: "claude-sandbox-project", Secret: "claude-sandbox-env"}
}

// k8sExport renders policy p's Pod for the test host and its manifest,
// and returns the Pod as the cluster reads it: decoded strictly into the
// API's own types.
func k8sExport(t *testing.T, p *profile.Policy, o K8sOptions) (*corev1.Pod, []byte) {
	t.Helper()
	written, err := K8sPod(p, debianHost(), o)
	if err != nil {
		t.Fatal(err)
	}
	m, err := K8sManifest(written, K8sNetworkPolicy(p, written))
	if err != nil {
		t.Fatal(err)
	}
	pod, _, err := kubetest.ParseManifest(m)
	if err != nil {
		t.Fatalf("strict decoding of the manifest: %v", err)
	}
	return pod, m
}

func TestK8sGolden(t *testing.T) {
	cases := []struct {
		name   string
		policy func(p *profile.Policy)
		opts   func(o *K8sOptions)
	}{
		{"default-network-off", func(p *profile.Policy) { p.Network.Mode = profile.NetworkOff }, func(o *K8sOptions) {}},
		{"gvisor-hostpath-allowlist", func(p *profile.Policy) {
			p.Network.Mode = profile.NetworkAllowlist
			p.Network.Allow = []string{"api.anthropic.com"}
			p.OCI.RuntimeClass = "kata"
			p.Limits.MilliCPUs = 1500
			p.Env.Set = map[string]string{"SECRET_SETTING": "s3cr3t"}
		}, func(o *K8sOptions) { o.RuntimeClass = "gvisor"; o.HostPath = "/srv/proj" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := defaultPolicy(t, "/home/alice/proj")
			c.policy(p)
			o := k8sOptions()
			c.opts(&o)
			pod, m := k8sExport(t, p, o)
			golden(t, "k8s/"+c.name, string(m))
			// The manifest decodes strictly back into the same Pod and
			// a deny-all policy selecting it.
			back, np, err := kubetest.ParseManifest(m)
			if err != nil {
				t.Fatalf("strict decoding of the manifest: %v", err)
			}
			if np == nil || np.Spec.PodSelector.MatchLabels[K8sRunLabel] != back.Labels[K8sRunLabel] || len(np.Spec.Ingress) != 0 || len(np.Spec.PolicyTypes) != 2 {
				t.Errorf("network policy %+v", np)
			}
			if p.Network.Mode == profile.NetworkOff && len(np.Spec.Egress) != 0 {
				t.Errorf("network off: the policy lets the Pod out: %+v", np.Spec.Egress)
			}
			if back.Spec.Containers[0].Image != o.Image || len(back.Spec.Volumes) != len(pod.Spec.Volumes) {
				t.Errorf("decoded Pod differs: %+v", back.Spec)
			}
			for _, s := range []string{"sk-test", "s3cr3t", "hunter2"} {
				if strings.Contains(string(m), s) {
					t.Errorf("the manifest holds the secret value %q", s)
				}
			}
		})
	}
}

func TestK8sSecurityContext(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	p.Network.Mode = profile.NetworkOff
	pod, _ := k8sExport(t, p, k8sOptions())
	ps, c := pod.Spec.SecurityContext, pod.Spec.Containers[0]
	cs := c.SecurityContext
	if *ps.RunAsUser != 1000 || *ps.RunAsGroup != 1000 || !*ps.RunAsNonRoot || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v", ps)
	}
	if *cs.AllowPrivilegeEscalation || !*cs.ReadOnlyRootFilesystem || len(cs.Capabilities.Drop) != 1 || cs.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container security context %+v", cs)
	}
	if *pod.Spec.AutomountServiceAccountToken || *pod.Spec.EnableServiceLinks {
		t.Error("service account token or service links reach the Pod")
	}
	// Protected paths: read-only subPath mounts of the project; the
	// pinned .git read-write; parents mounted first.
	mounts := map[string]corev1.VolumeMount{}
	depth := 0
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
		d := strings.Count(m.MountPath, "/")
		if d < depth {
			t.Errorf("%s is mounted after a deeper path", m.MountPath)
		}
		depth = d
	}
	for path, ro := range map[string]bool{"/home/alice/proj/.git": false, "/home/alice/proj/.git/hooks": true, "/home/alice/proj/.git/config": true} {
		m, ok := mounts[path]
		if !ok || m.Name != k8sProject || m.ReadOnly != ro || m.SubPath != strings.TrimPrefix(path, "/home/alice/proj/") {
			t.Errorf("%s: %+v (present %v), want a subPath mount of the project, read-only %v", path, m, ok, ro)
		}
	}
	var secretRef bool
	for _, e := range c.Env {
		if e.Name == "ANTHROPIC_API_KEY" {
			secretRef = e.Value == "" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef.Name == "claude-sandbox-env" && e.ValueFrom.SecretKeyRef.Key == "ANTHROPIC_API_KEY"
		}
		if e.Name == "AWS_SECRET_ACCESS_KEY" {
			t.Error("a host variable the policy does not pass is in the Pod")
		}
	}
	if !secretRef {
		t.Error("ANTHROPIC_API_KEY is not taken from the Secret by name")
	}
	if lim := c.Resources.Limits; lim.Memory().Value() != p.Limits.MemoryMiB<<20 {
		t.Errorf("memory limit %v", lim.Memory())
	}
}

func TestK8sStrictDecodingRefusesUnknownFields(t *testing.T) {
	if _, _, err := kubetest.ParseManifest([]byte("apiVersion: v1\nkind: Pod\nspec:\n  containerz: []\n")); err == nil {
		t.Error("an unknown field was accepted")
	}
	if _, _, err := kubetest.ParseManifest([]byte("apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Secret\n")); err == nil {
		t.Error("a Secret was accepted as the second document")
	}
}

// TestK8sAllowlistSidecar checks the allowlist's export: the launcher's
// proxy as a native sidecar with the policy's rules, the agent's proxy
// variables naming it, and a NetworkPolicy that admits nothing in and
// lets the Pod out only to DNS and public addresses.
func TestK8sAllowlistSidecar(t *testing.T) {
	p := defaultPolicy(t, "/home/alice/proj")
	p.Network.Mode = profile.NetworkAllowlist
	p.Network.Allow = []string{"api.anthropic.com", "*.npmjs.org"}
	p.Network.Deny = []string{"evil.npmjs.org"}
	p.Network.LocalhostPorts = []int{5432}
	o := k8sOptions()
	o.ProxyImage = "registry.example/claude-sandbox:1"
	_, m := k8sExport(t, p, o)
	golden(t, "k8s/allowlist-sidecar", string(m))
	back, np, err := kubetest.ParseManifest(m)
	if err != nil {
		t.Fatalf("strict decoding of the manifest: %v", err)
	}
	if len(back.Spec.InitContainers) != 1 {
		t.Fatalf("want one sidecar, got %d init containers", len(back.Spec.InitContainers))
	}
	side := back.Spec.InitContainers[0]
	want := []string{"claude-sandbox", "egress-proxy", "--listen", "127.0.0.1:3128", "--allow", "api.anthropic.com", "--allow", "*.npmjs.org",
		"--deny", "evil.npmjs.org", "--localhost-port", "5432"}
	if strings.Join(side.Command, " ") != strings.Join(want, " ") {
		t.Errorf("sidecar command %q, want %q", side.Command, want)
	}
	if pr := side.StartupProbe; pr == nil || pr.Exec == nil || strings.Join(pr.Exec.Command, " ") != "claude-sandbox egress-proxy --probe 127.0.0.1:3128" {
		t.Errorf("the agent may start before the proxy listens: startup probe %+v", side.StartupProbe)
	}
	if side.RestartPolicy == nil || *side.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("the proxy is not a native sidecar (restartPolicy Always)")
	}
	if side.Image != o.ProxyImage {
		t.Errorf("sidecar image %q, want %q", side.Image, o.ProxyImage)
	}
	sc := side.SecurityContext
	if sc == nil || *sc.RunAsUser != K8sProxyUID || *sc.RunAsUser == *back.Spec.SecurityContext.RunAsUser || !*sc.ReadOnlyRootFilesystem ||
		*sc.AllowPrivilegeEscalation || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("sidecar security context %+v", sc)
	}
	proxies := 0
	for _, e := range back.Spec.Containers[0].Env {
		switch e.Name {
		case "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy":
			proxies++
			if e.Value != "http://127.0.0.1:3128" {
				t.Errorf("%s=%s does not name the sidecar", e.Name, e.Value)
			}
		}
	}
	if proxies != 4 {
		t.Errorf("%d proxy variables in the agent container, want 4", proxies)
	}
	if len(np.Spec.Ingress) != 0 || len(np.Spec.Egress) != 2 {
		t.Fatalf("network policy: want no ingress and two egress rules: %+v", np.Spec)
	}
	for _, port := range np.Spec.Egress[0].Ports {
		if port.Port.IntValue() != 53 {
			t.Errorf("the DNS rule opens port %v", port.Port)
		}
	}
	var except []string
	for _, peer := range np.Spec.Egress[1].To {
		if peer.IPBlock == nil || len(np.Spec.Egress[1].Ports) != 0 {
			t.Errorf("the public rule: %+v", np.Spec.Egress[1])
			continue
		}
		except = append(except, peer.IPBlock.Except...)
	}
	for _, private := range []string{"10.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"} {
		if !slices.Contains(except, private) {
			t.Errorf("the NetworkPolicy lets the Pod reach %s", private)
		}
	}
	if note := back.Annotations["claude-sandbox.dev/network"]; !strings.Contains(note, "Not enforced") || !strings.Contains(note, "uid 65534") {
		t.Errorf("the network annotation does not say what is not enforced: %s", note)
	}
}
