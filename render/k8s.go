package render

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/claude-sandbox/claude-sandbox/profile"
	"github.com/claude-sandbox/claude-sandbox/render/kube"
	"sigs.k8s.io/yaml"
)

// K8sOptions are the choices of a Kubernetes export that the policy
// does not make.
type K8sOptions struct {
	// Name is the Pod's name.
	Name string
	// Image is the container image; it must hold the command.
	Image string
	// RuntimeClass is the Pod's runtimeClassName ("" for the cluster's
	// default); it overrides oci.runtime_class when set.
	RuntimeClass string
	// ProjectClaim is the PersistentVolumeClaim holding the project.
	ProjectClaim string
	// HostPath, when set, mounts the project from this node path instead
	// of a claim (single-node clusters such as kind or minikube).
	HostPath string
	// Secret is the Secret whose keys, named like the variables, hold the
	// values of the policy's secret variables.
	Secret string
	// ProxyImage is the image of the allowlist's proxy sidecar; it must
	// hold claude-sandbox on its PATH ("" for Image).
	ProxyImage string
}

// Annotations of an exported Pod.
const (
	k8sAnnotationPrefix = "claude-sandbox.dev/"
	// k8sEmptyAnnotation is an always-empty annotation: the source of the
	// empty file that hides a file.
	k8sEmptyAnnotation = k8sAnnotationPrefix + "empty"
)

// Volume names of an exported Pod.
const (
	k8sProject   = "project"
	k8sHome      = "home"
	k8sTmp       = "tmp"
	k8sRuntime   = "runtime"
	k8sEmptyFile = "empty-file"
)

// K8sPod renders policy p as a Kubernetes Pod for the project of host h.
//
// The Pod holds a container running the command as the invoking
// user's uid and gid, with a read-only root file system, no privilege
// escalation, every capability dropped and the runtime's default seccomp
// profile. The project is a volume (a claim, or a node path) mounted at
// its real path as the working directory; each protected path inside it
// is mounted again from the same volume with subPath, read-only (the
// pinned .git read-write: a mount point cannot be renamed or replaced);
// hidden directories are emptyDir volumes and hidden files an empty file.
// The home, /tmp and the runtime directory are emptyDir volumes. [limits]
// become resources; the environment is the policy's, with each secret
// variable taken from a Secret by name (values never appear). With an
// allowlist a sidecar runs the launcher's filtering proxy, which the
// proxy variables name. What a Pod cannot express or enforce (host files
// of the home, the limits of the network mode, pids and rlimits) is said
// in annotations.
func K8sPod(p *profile.Policy, h *Host, o K8sOptions) (*kube.Pod, error) {
	if o.Image == "" {
		return nil, fmt.Errorf("export: no image: name one that holds %s", strings.Join(p.Command, " "))
	}
	if o.HostPath == "" && o.ProjectClaim == "" {
		return nil, fmt.Errorf("export: the project needs a claim or a node path")
	}
	if err := k8sCheckOptions(p, o); err != nil {
		return nil, err
	}
	us, err := UserShares(p, h)
	if err != nil {
		return nil, err
	}
	project := h.Real(p.ProjectDir)
	notes := map[string]string{}

	argv, err := k8sCommand(p, h)
	if err != nil {
		return nil, err
	}

	// Volumes.
	pv := kube.Volume{Name: k8sProject}
	if o.HostPath != "" {
		dir := kube.HostPathDirectory
		pv.HostPath = &kube.HostPathVolumeSource{Path: o.HostPath, Type: &dir}
	} else {
		pv.PersistentVolumeClaim = &kube.PersistentVolumeClaimVolumeSource{ClaimName: o.ProjectClaim}
	}
	empty := func(name string) kube.Volume {
		return kube.Volume{Name: name, EmptyDir: &kube.EmptyDirVolumeSource{}}
	}
	volumes := []kube.Volume{pv, empty(k8sHome), empty(k8sTmp), empty(k8sRuntime)}
	mounts := []kube.VolumeMount{
		{Name: k8sProject, MountPath: project},
		{Name: k8sHome, MountPath: h.Home},
		{Name: k8sTmp, MountPath: "/tmp"},
		{Name: k8sRuntime, MountPath: Runtime(h)},
	}
	// Missing protected paths: a directory is an empty read-only
	// volume, as the launcher's placeholder is; a file cannot be (a
	// subPath that does not exist is created as a directory).
	missing := map[string]Placeholder{}
	for _, ph := range us.Placeholders {
		missing[ph.Path] = ph
	}
	var skipped, hiddenFiles []string
	hidden := 0
	for _, s := range us.Shares {
		target := s.Target
		inProject := within(target, project) && target != project
		switch {
		case s.Mode == ShareTmpfs && inProject:
			hidden++
			name := fmt.Sprintf("hidden-%d", hidden)
			volumes = append(volumes, empty(name))
			mounts = append(mounts, kube.VolumeMount{Name: name, MountPath: target, ReadOnly: true})
		case s.Mode == ShareHideFile && inProject:
			hiddenFiles = append(hiddenFiles, target)
			mounts = append(mounts, kube.VolumeMount{Name: k8sEmptyFile, MountPath: target, SubPath: "empty", ReadOnly: true})
		case inProject && within(s.Source, project) && (s.Mode == ShareRO || s.Mode == SharePin || s.Mode == ShareRW):
			if ph, ok := missing[s.Source]; ok {
				if !ph.Dir {
					skipped = append(skipped, target+" (a missing file)")
					continue
				}
				hidden++
				name := fmt.Sprintf("hidden-%d", hidden)
				volumes = append(volumes, empty(name))
				mounts = append(mounts, kube.VolumeMount{Name: name, MountPath: target, ReadOnly: true})
				continue
			}
			rel := strings.TrimPrefix(s.Source, project+"/")
			mounts = append(mounts, kube.VolumeMount{Name: k8sProject, MountPath: target, SubPath: rel, ReadOnly: s.Mode == ShareRO})
		case target == project:
		default:
			skipped = append(skipped, target)
		}
	}
	// Parents before what is mounted inside them, whatever order the
	// runtime applies.
	sort.SliceStable(mounts, func(i, j int) bool {
		return strings.Count(mounts[i].MountPath, "/") < strings.Count(mounts[j].MountPath, "/")
	})
	if len(hiddenFiles) > 0 {
		volumes = append(volumes, kube.Volume{Name: k8sEmptyFile, DownwardAPI: &kube.DownwardAPIVolumeSource{
			Items: []kube.DownwardAPIVolumeFile{{Path: "empty", FieldRef: &kube.ObjectFieldSelector{FieldPath: "metadata.annotations['" + k8sEmptyAnnotation + "']"}}},
		}})
		notes[k8sEmptyAnnotation] = ""
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		notes[k8sAnnotationPrefix+"not-exported"] = "host paths a Pod cannot see (provide them as Secrets or volumes if the command needs them): " + strings.Join(skipped, ", ")
	}

	// Environment: values of plain variables, secret ones by reference.
	env, secret := Environment(p, h, profile.OCI, nil)
	env["CLAUDE_SANDBOX_BACKEND"] = "kubernetes"
	isSecret := map[string]bool{}
	for _, s := range secret {
		isSecret[s] = true
	}
	var names []string
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var envVars []kube.EnvVar
	for _, k := range names {
		if isSecret[k] {
			envVars = append(envVars, kube.EnvVar{Name: k, ValueFrom: &kube.EnvVarSource{SecretKeyRef: &kube.SecretKeySelector{Name: o.Secret, Key: k}}})
			continue
		}
		envVars = append(envVars, kube.EnvVar{Name: k, Value: env[k]})
	}

	// Resources.
	l := p.Limits
	res := map[string]string{}
	if l.MilliCPUs > 0 {
		res[kube.ResourceCPU] = kube.MilliQuantity(l.MilliCPUs)
	}
	if l.MemoryMiB > 0 {
		res[kube.ResourceMemory] = kube.BinaryQuantity(l.MemoryMiB << 20)
	}
	if l.DiskMiB > 0 {
		res[kube.ResourceEphemeralStorage] = kube.BinaryQuantity(l.DiskMiB << 20)
	}
	var unenforced []string
	if l.Processes > 0 {
		unenforced = append(unenforced, fmt.Sprintf("processes %d (the kubelet's podPidsLimit)", l.Processes))
	}
	if l.OpenFiles > 0 {
		unenforced = append(unenforced, fmt.Sprintf("open_files %d (the container runtime's default RLIMIT_NOFILE)", l.OpenFiles))
	}
	if l.FileSizeMiB > 0 {
		unenforced = append(unenforced, fmt.Sprintf("file_size %dMiB", l.FileSizeMiB))
	}
	if len(unenforced) > 0 {
		notes[k8sAnnotationPrefix+"limits-not-in-pod"] = "set on the node, not in a Pod: " + strings.Join(unenforced, "; ")
	}

	// Network.
	switch p.Network.Mode {
	case profile.NetworkOff:
		notes[k8sAnnotationPrefix+"network"] = "off: the NetworkPolicy beside this Pod denies all ingress and egress (enforced where the cluster's network plugin enforces NetworkPolicy)"
	case profile.NetworkAllowlist:
		notes[k8sAnnotationPrefix+"network"] = "allowlist (" + strings.Join(p.Network.Allow, ", ") + "): " + k8sAllowlistNote
	case profile.NetworkHost:
		notes[k8sAnnotationPrefix+"network"] = "host: the Pod network (hostNetwork stays off)"
	default:
		notes[k8sAnnotationPrefix+"network"] = "full: the Pod network"
	}
	notes[k8sAnnotationPrefix+"seccomp"] = "RuntimeDefault; the sandbox's own rules are the seccomp section of `claude-sandbox export --format=oci`, installable on nodes as a Localhost profile"

	uid, gid := int64(h.UID), int64(h.GID)
	nonRoot := h.UID != 0
	no, yes := false, true
	runtimeClass := o.RuntimeClass
	if runtimeClass == "" {
		runtimeClass = p.OCI.RuntimeClass
	}
	pod := &kube.Pod{
		TypeMeta: kube.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: kube.ObjectMeta{
			Name:        o.Name,
			Labels:      map[string]string{"app.kubernetes.io/name": "claude-sandbox", "app.kubernetes.io/managed-by": "claude-sandbox"},
			Annotations: notes,
		},
		Spec: kube.PodSpec{
			RestartPolicy:                kube.RestartPolicyNever,
			Hostname:                     Hostname(p),
			AutomountServiceAccountToken: &no,
			EnableServiceLinks:           &no,
			SecurityContext: &kube.PodSecurityContext{
				RunAsUser:      &uid,
				RunAsGroup:     &gid,
				RunAsNonRoot:   &nonRoot,
				SeccompProfile: &kube.SeccompProfile{Type: kube.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []kube.Container{{
				Name:         "agent",
				Image:        o.Image,
				Command:      argv,
				WorkingDir:   project,
				Env:          envVars,
				VolumeMounts: mounts,
				Stdin:        h.StdinTTY,
				TTY:          h.StdinTTY,
				Resources:    kube.ResourceRequirements{Limits: res},
				SecurityContext: &kube.SecurityContext{
					AllowPrivilegeEscalation: &no,
					Privileged:               &no,
					ReadOnlyRootFilesystem:   &yes,
					Capabilities:             &kube.Capabilities{Drop: []string{"ALL"}},
				},
			}},
			Volumes: volumes,
		},
	}
	if len(res) == 0 {
		pod.Spec.Containers[0].Resources = kube.ResourceRequirements{}
	}
	if p.Network.Mode == profile.NetworkAllowlist {
		pod.Spec.InitContainers = []kube.Container{k8sProxySidecar(p, o)}
	}
	if runtimeClass != "" {
		pod.Spec.RuntimeClassName = &runtimeClass
	}
	pod.Labels[K8sRunLabel] = o.Name
	return pod, nil
}

// k8sCheckOptions refuses object names the API server would: the Pod's,
// the claim's, the Secret's and the runtime class's must be DNS
// subdomains, a node path absolute.
func k8sCheckOptions(p *profile.Policy, o K8sOptions) error {
	rc := o.RuntimeClass
	if rc == "" {
		rc = p.OCI.RuntimeClass
	}
	for _, n := range []struct{ flag, value string }{{"--name", o.Name}, {"--claim", o.ProjectClaim}, {"--secret", o.Secret}, {"--runtime-class (oci.runtime_class)", rc}} {
		if n.value == "" && n.flag != "--name" {
			continue
		}
		if errs := kube.IsDNS1123Subdomain(n.value); len(errs) > 0 {
			return fmt.Errorf("export: %s %q is not a Kubernetes object name: %s", n.flag, n.value, strings.Join(errs, "; "))
		}
	}
	if o.HostPath != "" && !path.IsAbs(o.HostPath) {
		return fmt.Errorf("export: --host-path %q is not an absolute path", o.HostPath)
	}
	return nil
}

// K8sProxyUID is the uid and gid of the allowlist's proxy sidecar: an id
// of its own (nobody), which per-uid rules in the Pod's network namespace
// can single out as the one allowed out.
const K8sProxyUID = 65534

// k8sAllowlistNote says what an exported allowlist enforces, and what a
// cluster must add to make the proxy the only way out.
const k8sAllowlistNote = "the launcher's filtering proxy runs as the sidecar egress-proxy " +
	"(claude-sandbox egress-proxy, uid 65534) on 127.0.0.1:3128, and the agent's proxy variables name it. " +
	"Enforced: clients that use the proxy variables reach only the allowed names (each name resolved once and " +
	"the checked address dialled); the agent container holds no capability (no NET_RAW); the NetworkPolicy " +
	"beside this Pod admits no ingress and lets the Pod out only to DNS (port 53) and public addresses " +
	"(private, link-local, cloud metadata and shared ranges refused). Not enforced: a NetworkPolicy applies " +
	"to the whole Pod, so a client in the agent container that ignores the proxy variables reaches any public " +
	"address, and DNS queries leave the Pod. To make the proxy the only way out the cluster needs per-container " +
	"egress rules: an owner-match rule in the Pod's network namespace letting only uid 65534 out (installed by " +
	"an init container with NET_ADMIN, as service meshes do), a network plugin with per-container or name-based " +
	"egress rules (for example Cilium's toFQDNs with the same names), or the proxy moved into a Pod of its own " +
	"that is this Pod's only allowed egress"

// k8sProxySidecar is the allowlist's proxy as a native sidecar (an init
// container that keeps running, started before the agent and stopped
// after it): the launcher's own proxy with the policy's rules, on the
// loopback address the agent's proxy variables name, with a startup
// probe so that the agent starts once it accepts connections.
func k8sProxySidecar(p *profile.Policy, o K8sOptions) kube.Container {
	image := o.ProxyImage
	if image == "" {
		image = o.Image
	}
	listen := "127.0.0.1:" + itoa(proxyPort)
	args := []string{"claude-sandbox", "egress-proxy", "--listen", listen}
	for _, a := range p.Network.Allow {
		args = append(args, "--allow", a)
	}
	for _, d := range p.Network.Deny {
		args = append(args, "--deny", d)
	}
	for _, port := range p.Network.LocalhostPorts {
		args = append(args, "--localhost-port", itoa(port))
	}
	always := kube.ContainerRestartPolicyAlways
	id := int64(K8sProxyUID)
	no, yes := false, true
	return kube.Container{
		Name:          "egress-proxy",
		Image:         image,
		Command:       args,
		RestartPolicy: &always,
		// The agent starts once the proxy accepts connections.
		StartupProbe: &kube.Probe{
			Exec:             &kube.ExecAction{Command: []string{"claude-sandbox", "egress-proxy", "--probe", listen}},
			PeriodSeconds:    1,
			FailureThreshold: 30,
		},
		SecurityContext: &kube.SecurityContext{
			RunAsUser:                &id,
			RunAsGroup:               &id,
			RunAsNonRoot:             &yes,
			AllowPrivilegeEscalation: &no,
			Privileged:               &no,
			ReadOnlyRootFilesystem:   &yes,
			Capabilities:             &kube.Capabilities{Drop: []string{"ALL"}},
		},
	}
}

// K8sRunLabel names the exported Pod, for its NetworkPolicy to select.
const K8sRunLabel = k8sAnnotationPrefix + "pod"

// K8sNetworkPolicy is the NetworkPolicy of an exported Pod; it selects
// the Pod and allows no ingress. With the network off it allows no
// egress either. With an allowlist it lets the Pod (the whole Pod: a
// NetworkPolicy cannot single out the proxy sidecar) out only to DNS and
// to public addresses, the ranges the proxy refuses for wildcard names
// excepted. Other modes need none (nil).
func K8sNetworkPolicy(p *profile.Policy, pod *kube.Pod) *kube.NetworkPolicy {
	np := &kube.NetworkPolicy{
		TypeMeta:   kube.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: kube.ObjectMeta{Name: pod.Name + "-deny-all", Labels: map[string]string{"app.kubernetes.io/managed-by": "claude-sandbox"}},
		Spec: kube.NetworkPolicySpec{
			PodSelector: kube.LabelSelector{MatchLabels: map[string]string{K8sRunLabel: pod.Labels[K8sRunLabel]}},
			PolicyTypes: []string{kube.PolicyTypeIngress, kube.PolicyTypeEgress},
		},
	}
	switch p.Network.Mode {
	case profile.NetworkOff:
		return np
	case profile.NetworkAllowlist:
		np.Name = pod.Name + "-egress"
		udp, tcp := kube.ProtocolUDP, kube.ProtocolTCP
		dns := int32(53)
		np.Spec.Egress = []kube.NetworkPolicyEgressRule{
			{Ports: []kube.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}}},
			{To: []kube.NetworkPolicyPeer{
				{IPBlock: &kube.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4"}}},
				{IPBlock: &kube.IPBlock{CIDR: "::/0", Except: []string{"::1/128", "fc00::/7", "fe80::/10", "ff00::/8"}}},
			}},
		}
		return np
	}
	return nil
}

// k8sCommand is the command of an exported Pod: the policy's command (or
// shell) by the name the image's PATH resolves, with the sandbox notice
// for Claude Code.
func k8sCommand(p *profile.Policy, h *Host) ([]string, error) {
	return commandLine(p, h, profile.Backend("kubernetes"), func(name string) (string, error) {
		if path.IsAbs(name) && within(name, h.Home) {
			return path.Base(name), nil
		}
		return name, nil
	})
}

// K8sManifest serialises pod, and its NetworkPolicy when not nil, as a
// YAML manifest with a header comment.
func K8sManifest(pod *kube.Pod, np *kube.NetworkPolicy) ([]byte, error) {
	body, err := yaml.Marshal(pod)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	head := "# Generated by claude-sandbox export --format=k8s: the sandbox policy as a Pod.\n" +
		"# Apply with kubectl apply -f; see the claude-sandbox.dev/ annotations for what the\n" +
		"# cluster must add (the Secret of the variables, the project's volume, node limits).\n"
	out := append([]byte(head), body...)
	if np != nil {
		b, err := yaml.Marshal(np)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		out = append(append(out, "---\n"...), b...)
	}
	return out, nil
}
