// Package kube declares the part of the Kubernetes API that an export
// writes: a Pod with one container and a NetworkPolicy. Names and JSON
// encoding are those of k8s.io/api (core/v1, networking/v1), so a
// manifest decodes strictly into the real types, without linking their
// packages (and their start-up cost) into the launcher.
package kube

import (
	"strconv"
	"strings"
)

// TypeMeta is an object's API version and kind.
type TypeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// ObjectMeta is an object's name, labels and annotations.
type ObjectMeta struct {
	Name        string            `json:"name,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Pod is a core/v1 Pod.
type Pod struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec `json:"spec,omitempty"`
	// Status is always empty; the API encodes it as {}.
	Status struct{} `json:"status,omitempty"`
}

// Restart policies.
const RestartPolicyNever = "Never"

// PodSpec is a Pod's specification.
type PodSpec struct {
	Volumes                      []Volume            `json:"volumes,omitempty"`
	InitContainers               []Container         `json:"initContainers,omitempty"`
	Containers                   []Container         `json:"containers"`
	RestartPolicy                string              `json:"restartPolicy,omitempty"`
	AutomountServiceAccountToken *bool               `json:"automountServiceAccountToken,omitempty"`
	SecurityContext              *PodSecurityContext `json:"securityContext,omitempty"`
	Hostname                     string              `json:"hostname,omitempty"`
	RuntimeClassName             *string             `json:"runtimeClassName,omitempty"`
	EnableServiceLinks           *bool               `json:"enableServiceLinks,omitempty"`
}

// Seccomp profile types.
const SeccompProfileTypeRuntimeDefault = "RuntimeDefault"

// PodSecurityContext is a Pod's security settings.
type PodSecurityContext struct {
	RunAsUser      *int64          `json:"runAsUser,omitempty"`
	RunAsGroup     *int64          `json:"runAsGroup,omitempty"`
	RunAsNonRoot   *bool           `json:"runAsNonRoot,omitempty"`
	SeccompProfile *SeccompProfile `json:"seccompProfile,omitempty"`
}

// SeccompProfile names a seccomp profile.
type SeccompProfile struct {
	Type string `json:"type"`
}

// Container is a Pod's container.
type Container struct {
	Name       string               `json:"name"`
	Image      string               `json:"image,omitempty"`
	Command    []string             `json:"command,omitempty"`
	WorkingDir string               `json:"workingDir,omitempty"`
	Env        []EnvVar             `json:"env,omitempty"`
	Resources  ResourceRequirements `json:"resources,omitempty"`
	// RestartPolicy Always makes an init container a sidecar.
	RestartPolicy   *string          `json:"restartPolicy,omitempty"`
	VolumeMounts    []VolumeMount    `json:"volumeMounts,omitempty"`
	StartupProbe    *Probe           `json:"startupProbe,omitempty"`
	SecurityContext *SecurityContext `json:"securityContext,omitempty"`
	Stdin           bool             `json:"stdin,omitempty"`
	TTY             bool             `json:"tty,omitempty"`
}

// Container restart policies.
const ContainerRestartPolicyAlways = "Always"

// Probe checks a container by running a command in it.
type Probe struct {
	Exec             *ExecAction `json:"exec,omitempty"`
	PeriodSeconds    int32       `json:"periodSeconds,omitempty"`
	FailureThreshold int32       `json:"failureThreshold,omitempty"`
}

// ExecAction is a command a probe runs.
type ExecAction struct {
	Command []string `json:"command,omitempty"`
}

// Resource names.
const (
	ResourceCPU              = "cpu"
	ResourceMemory           = "memory"
	ResourceEphemeralStorage = "ephemeral-storage"
)

// ResourceRequirements are a container's resource limits, each a
// quantity in the API's canonical form (see MilliQuantity and
// BinaryQuantity).
type ResourceRequirements struct {
	Limits map[string]string `json:"limits,omitempty"`
}

// SecurityContext is a container's security settings.
type SecurityContext struct {
	Capabilities             *Capabilities `json:"capabilities,omitempty"`
	Privileged               *bool         `json:"privileged,omitempty"`
	RunAsUser                *int64        `json:"runAsUser,omitempty"`
	RunAsGroup               *int64        `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool         `json:"runAsNonRoot,omitempty"`
	ReadOnlyRootFilesystem   *bool         `json:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool         `json:"allowPrivilegeEscalation,omitempty"`
}

// Capabilities are the capabilities a container adds and drops.
type Capabilities struct {
	Drop []string `json:"drop,omitempty"`
}

// EnvVar is a container's environment variable: a value or a source.
type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// EnvVarSource takes a variable's value from a Secret.
type EnvVarSource struct {
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`
}

// SecretKeySelector names a key of a Secret.
type SecretKeySelector struct {
	Name string `json:"name,omitempty"`
	Key  string `json:"key"`
}

// VolumeMount mounts a volume (or a path in it) into a container.
type VolumeMount struct {
	Name      string `json:"name"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	MountPath string `json:"mountPath"`
	SubPath   string `json:"subPath,omitempty"`
}

// Volume is a Pod's volume; one source is set.
type Volume struct {
	Name                  string                             `json:"name"`
	HostPath              *HostPathVolumeSource              `json:"hostPath,omitempty"`
	EmptyDir              *EmptyDirVolumeSource              `json:"emptyDir,omitempty"`
	PersistentVolumeClaim *PersistentVolumeClaimVolumeSource `json:"persistentVolumeClaim,omitempty"`
	DownwardAPI           *DownwardAPIVolumeSource           `json:"downwardAPI,omitempty"`
}

// Host path types.
const HostPathDirectory = "Directory"

// HostPathVolumeSource is a path on the node.
type HostPathVolumeSource struct {
	Path string  `json:"path"`
	Type *string `json:"type,omitempty"`
}

// EmptyDirVolumeSource is an empty directory for the Pod's lifetime.
type EmptyDirVolumeSource struct{}

// PersistentVolumeClaimVolumeSource is a claim's volume.
type PersistentVolumeClaimVolumeSource struct {
	ClaimName string `json:"claimName"`
}

// DownwardAPIVolumeSource holds files of the Pod's own fields.
type DownwardAPIVolumeSource struct {
	Items []DownwardAPIVolumeFile `json:"items,omitempty"`
}

// DownwardAPIVolumeFile is one file of a DownwardAPIVolumeSource.
type DownwardAPIVolumeFile struct {
	Path     string               `json:"path"`
	FieldRef *ObjectFieldSelector `json:"fieldRef,omitempty"`
}

// ObjectFieldSelector names a field of the Pod.
type ObjectFieldSelector struct {
	FieldPath string `json:"fieldPath"`
}

// NetworkPolicy is a networking/v1 NetworkPolicy.
type NetworkPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       NetworkPolicySpec `json:"spec,omitempty"`
}

// Policy types.
const (
	PolicyTypeIngress = "Ingress"
	PolicyTypeEgress  = "Egress"
)

// NetworkPolicySpec selects Pods and the directions it governs; no rule
// means nothing is allowed.
type NetworkPolicySpec struct {
	PodSelector LabelSelector             `json:"podSelector"`
	Egress      []NetworkPolicyEgressRule `json:"egress,omitempty"`
	PolicyTypes []string                  `json:"policyTypes,omitempty"`
}

// NetworkPolicyEgressRule lets traffic out to the ports, or to the peers.
type NetworkPolicyEgressRule struct {
	Ports []NetworkPolicyPort `json:"ports,omitempty"`
	To    []NetworkPolicyPeer `json:"to,omitempty"`
}

// Protocols.
const (
	ProtocolTCP = "TCP"
	ProtocolUDP = "UDP"
)

// NetworkPolicyPort is a protocol and port number.
type NetworkPolicyPort struct {
	Protocol *string `json:"protocol,omitempty"`
	Port     *int32  `json:"port,omitempty"`
}

// NetworkPolicyPeer is an address block.
type NetworkPolicyPeer struct {
	IPBlock *IPBlock `json:"ipBlock,omitempty"`
}

// IPBlock is a CIDR block without its exceptions.
type IPBlock struct {
	CIDR   string   `json:"cidr"`
	Except []string `json:"except,omitempty"`
}

// IsDNS1123Subdomain returns why value is not a lowercase RFC 1123
// subdomain (an object name), in the API's words, or nothing.
func IsDNS1123Subdomain(value string) []string {
	var errs []string
	if len(value) > 253 {
		errs = append(errs, "must be no more than 253 characters")
	}
	if !isSubdomain(value) {
		errs = append(errs, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
	}
	return errs
}

// isSubdomain reports whether s is dot-separated labels of lowercase
// letters, digits and inner hyphens.
func isSubdomain(s string) bool {
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// LabelSelector selects by labels.
type LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// MilliQuantity is n thousandths (of a cpu) in the API's canonical
// decimal form: "1500m", "2", "3k".
func MilliQuantity(n int64) string {
	if n%1000 != 0 {
		return strconv.FormatInt(n, 10) + "m"
	}
	return scaled(n/1000, 1000, []string{"k", "M", "G", "T", "P", "E"})
}

// BinaryQuantity is n bytes in the API's canonical binary form: "512Mi",
// "8Gi".
func BinaryQuantity(n int64) string {
	return scaled(n, 1024, []string{"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"})
}

// scaled writes n with the largest of suffixes (each base times the one
// before) that divides it exactly.
func scaled(n, base int64, suffixes []string) string {
	suffix := ""
	for _, s := range suffixes {
		if n == 0 || n%base != 0 {
			break
		}
		n /= base
		suffix = s
	}
	return strconv.FormatInt(n, 10) + suffix
}
