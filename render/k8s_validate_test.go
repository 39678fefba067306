package render

import (
	"net/netip"
	"path"
	"strings"
	"testing"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render/kube/kubetest"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// k8sInvalid checks a decoded manifest offline with the API machinery's
// own format validators, as far as they go without a cluster: object
// metadata (names, label and annotation keys and values, the
// annotations' total size), container, volume and variable names, unique names, mounts of
// existing volumes at absolute paths, relative subPaths, restart
// policies (Always only on init containers), secret keys, and the
// NetworkPolicy's address blocks (each exception inside its block). It
// returns every problem found.
func k8sInvalid(pod *corev1.Pod, np *networkingv1.NetworkPolicy) []string {
	var errs []string
	add := func(where string, msgs []string) {
		for _, m := range msgs {
			errs = append(errs, where+": "+m)
		}
	}
	meta := func(where string, m metav1.ObjectMeta) {
		add(where+".name", validation.IsDNS1123Subdomain(m.Name))
		for k, v := range m.Labels {
			add(where+".labels "+k, validation.IsQualifiedName(k))
			add(where+".labels "+k, validation.IsValidLabelValue(v))
		}
		size := 0
		for k, v := range m.Annotations {
			add(where+".annotations "+k, validation.IsQualifiedName(k))
			size += len(k) + len(v)
		}
		if size > 256<<10 {
			errs = append(errs, where+".annotations: larger than 256 KiB")
		}
	}
	meta("metadata", pod.ObjectMeta)
	add("spec.hostname", validation.IsDNS1123Label(pod.Spec.Hostname))
	if rc := pod.Spec.RuntimeClassName; rc != nil {
		add("spec.runtimeClassName", validation.IsDNS1123Subdomain(*rc))
	}
	volumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		add("volume "+v.Name, validation.IsDNS1123Label(v.Name))
		if volumes[v.Name] {
			errs = append(errs, "volume "+v.Name+": duplicate name")
		}
		volumes[v.Name] = true
		sources := 0
		for _, set := range []bool{v.EmptyDir != nil, v.HostPath != nil, v.PersistentVolumeClaim != nil, v.DownwardAPI != nil, v.Secret != nil, v.ConfigMap != nil} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			errs = append(errs, "volume "+v.Name+": want exactly one source")
		}
		if c := v.PersistentVolumeClaim; c != nil {
			add("volume "+v.Name+" claim", validation.IsDNS1123Subdomain(c.ClaimName))
		}
	}
	containers := map[string]bool{}
	check := func(c corev1.Container, init bool) {
		where := "container " + c.Name
		add(where, validation.IsDNS1123Label(c.Name))
		if containers[c.Name] {
			errs = append(errs, where+": duplicate name")
		}
		containers[c.Name] = true
		if c.Image == "" || len(c.Command) == 0 {
			errs = append(errs, where+": no image or command")
		}
		if rp := c.RestartPolicy; rp != nil && (!init || *rp != corev1.ContainerRestartPolicyAlways) {
			errs = append(errs, where+": restartPolicy "+string(*rp))
		}
		paths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				errs = append(errs, where+": mount of the unknown volume "+m.Name)
			}
			if !path.IsAbs(m.MountPath) || paths[m.MountPath] {
				errs = append(errs, where+": mount path "+m.MountPath+" not absolute or mounted twice")
			}
			paths[m.MountPath] = true
			if path.IsAbs(m.SubPath) || strings.HasPrefix(path.Clean(m.SubPath), "..") {
				errs = append(errs, where+": subPath "+m.SubPath+" leaves its volume")
			}
		}
		names := map[string]bool{}
		for _, e := range c.Env {
			add(where+" env "+e.Name, validation.IsEnvVarName(e.Name))
			if names[e.Name] {
				errs = append(errs, where+" env "+e.Name+": duplicate")
			}
			names[e.Name] = true
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				add(where+" env "+e.Name+" secret", validation.IsDNS1123Subdomain(e.ValueFrom.SecretKeyRef.Name))
				add(where+" env "+e.Name+" key", validation.IsConfigMapKey(e.ValueFrom.SecretKeyRef.Key))
			}
		}
		if sc := c.SecurityContext; sc != nil && sc.RunAsUser != nil {
			add(where+" runAsUser", validation.IsValidUserID(*sc.RunAsUser))
		}
	}
	for _, c := range pod.Spec.InitContainers {
		check(c, true)
	}
	for _, c := range pod.Spec.Containers {
		check(c, false)
	}
	if np == nil {
		return errs
	}
	meta("networkPolicy.metadata", np.ObjectMeta)
	for _, rule := range np.Spec.Egress {
		for _, port := range rule.Ports {
			if port.Port != nil {
				add("networkPolicy port", validation.IsValidPortNum(port.Port.IntValue()))
			}
		}
		for _, peer := range rule.To {
			if peer.IPBlock == nil {
				continue
			}
			block, err := netip.ParsePrefix(peer.IPBlock.CIDR)
			if err != nil {
				errs = append(errs, "networkPolicy: "+err.Error())
				continue
			}
			for _, ex := range peer.IPBlock.Except {
				p, err := netip.ParsePrefix(ex)
				if err != nil || p.Bits() <= block.Bits() || !block.Contains(p.Addr()) {
					errs = append(errs, "networkPolicy: except "+ex+" is not inside "+peer.IPBlock.CIDR)
				}
			}
		}
	}
	return errs
}

// TestK8sManifestsValidate checks every exported manifest with the API
// machinery's validators, and that the validators catch a broken one.
func TestK8sManifestsValidate(t *testing.T) {
	for _, mode := range []string{"off", "allowlist", "full"} {
		p := defaultPolicy(t, "/home/alice/proj")
		p.Network.Mode = profile.NetworkMode(mode)
		p.Network.Allow = []string{"api.anthropic.com"}
		p.Limits.MilliCPUs = 1500
		_, m := k8sExport(t, p, k8sOptions())
		back, np, err := kubetest.ParseManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		if errs := k8sInvalid(back, np); len(errs) > 0 {
			t.Errorf("%s: the manifest would be refused:\n%s", mode, strings.Join(errs, "\n"))
		}
		// The validators see a broken manifest.
		back.Spec.Containers[0].VolumeMounts = append(back.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "nowhere", MountPath: "tmp"})
		back.Annotations["not a key"] = ""
		if np != nil && len(np.Spec.Egress) > 1 {
			np.Spec.Egress[1].To[0].IPBlock.Except = append(np.Spec.Egress[1].To[0].IPBlock.Except, "192.0.2.0/24", "0.0.0.0/0")
		}
		errs := strings.Join(k8sInvalid(back, np), "\n")
		for _, want := range []string{"unknown volume nowhere", "mount path tmp", "metadata.annotations"} {
			if !strings.Contains(errs, want) {
				t.Errorf("%s: a broken manifest passes (%q not found in %q)", mode, want, errs)
			}
		}
		if mode == "allowlist" && !strings.Contains(errs, "except 0.0.0.0/0") {
			t.Errorf("an exception as wide as its block passes: %q", errs)
		}
	}
}

// TestK8sOptionsRefused checks that names the API server refuses are
// refused at export, naming the flag.
func TestK8sOptionsRefused(t *testing.T) {
	for flag, set := range map[string]func(o *K8sOptions){
		"--name":          func(o *K8sOptions) { o.Name = "Claude_Sandbox" },
		"--claim":         func(o *K8sOptions) { o.ProjectClaim = "my claim" },
		"--secret":        func(o *K8sOptions) { o.Secret = "-env" },
		"--runtime-class": func(o *K8sOptions) { o.RuntimeClass = "gVisor" },
		"--host-path":     func(o *K8sOptions) { o.HostPath = "srv/proj" },
	} {
		o := k8sOptions()
		set(&o)
		_, err := K8sPod(defaultPolicy(t, "/home/alice/proj"), debianHost(), o)
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: %v", flag, err)
		}
	}
}
