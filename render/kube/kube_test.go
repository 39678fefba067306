package kube

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// TestQuantitiesAreCanonical compares the quantities with the API's own
// canonical forms.
func TestQuantitiesAreCanonical(t *testing.T) {
	for _, n := range []int64{1, 250, 999, 1000, 1500, 2000, 12345, 64000, 1000000, 2500000, 3000000000} {
		if got, want := MilliQuantity(n), resource.NewMilliQuantity(n, resource.DecimalSI).String(); got != want {
			t.Errorf("MilliQuantity(%d) = %q, want %q", n, got, want)
		}
	}
	for _, mib := range []int64{1, 64, 256, 1000, 1024, 1536, 8192, 3 << 20, 5 << 30} {
		n := mib << 20
		if got, want := BinaryQuantity(n), resource.NewQuantity(n, resource.BinarySI).String(); got != want {
			t.Errorf("BinaryQuantity(%d MiB) = %q, want %q", mib, got, want)
		}
	}
}

// TestEncodingMatchesTheAPI encodes a Pod and a NetworkPolicy with every
// field set, decodes them into the API's types and encodes those again:
// the two encodings are the same, so no field is misnamed, dropped or
// encoded differently.
func TestEncodingMatchesTheAPI(t *testing.T) {
	yes, no := true, false
	uid := int64(1000)
	class, dir := "gvisor", HostPathDirectory
	pod := Pod{
		TypeMeta:   TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"c": ""}},
		Spec: PodSpec{
			RestartPolicy: RestartPolicyNever, Hostname: "h", AutomountServiceAccountToken: &no, EnableServiceLinks: &no,
			RuntimeClassName: &class,
			SecurityContext:  &PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid, RunAsNonRoot: &yes, SeccompProfile: &SeccompProfile{Type: SeccompProfileTypeRuntimeDefault}},
			Containers: []Container{{
				Name: "agent", Image: "i", Command: []string{"sh"}, WorkingDir: "/w", Stdin: true, TTY: true,
				Env:          []EnvVar{{Name: "A", Value: "1"}, {Name: "S", ValueFrom: &EnvVarSource{SecretKeyRef: &SecretKeySelector{Name: "s", Key: "S"}}}},
				Resources:    ResourceRequirements{Limits: map[string]string{ResourceCPU: MilliQuantity(1500), ResourceMemory: BinaryQuantity(8 << 30), ResourceEphemeralStorage: BinaryQuantity(1 << 30)}},
				VolumeMounts: []VolumeMount{{Name: "v", MountPath: "/m", SubPath: "x", ReadOnly: true}},
				SecurityContext: &SecurityContext{AllowPrivilegeEscalation: &no, Privileged: &no, ReadOnlyRootFilesystem: &yes,
					Capabilities: &Capabilities{Drop: []string{"ALL"}}},
			}},
			Volumes: []Volume{
				{Name: "a", HostPath: &HostPathVolumeSource{Path: "/srv", Type: &dir}},
				{Name: "b", EmptyDir: &EmptyDirVolumeSource{}},
				{Name: "c", PersistentVolumeClaim: &PersistentVolumeClaimVolumeSource{ClaimName: "claim"}},
				{Name: "d", DownwardAPI: &DownwardAPIVolumeSource{Items: []DownwardAPIVolumeFile{{Path: "empty", FieldRef: &ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
			},
		},
	}
	always := ContainerRestartPolicyAlways
	pod.Spec.InitContainers = []Container{{
		Name: "sidecar", Image: "i", Command: []string{"p"}, RestartPolicy: &always,
		StartupProbe:    &Probe{Exec: &ExecAction{Command: []string{"p", "--probe"}}, PeriodSeconds: 1, FailureThreshold: 30},
		SecurityContext: &SecurityContext{RunAsUser: &uid, RunAsGroup: &uid, RunAsNonRoot: &yes, Privileged: &no},
	}}
	roundTrip(t, pod, &corev1.Pod{})
	roundTrip(t, Pod{TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Pod"}, Spec: PodSpec{Containers: []Container{{Name: "c"}}}}, &corev1.Pod{})
	np := NetworkPolicy{
		TypeMeta:   TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: ObjectMeta{Name: "n"},
		Spec:       NetworkPolicySpec{PodSelector: LabelSelector{MatchLabels: map[string]string{"a": "b"}}, PolicyTypes: []string{PolicyTypeIngress, PolicyTypeEgress}},
	}
	udp, port := ProtocolUDP, int32(53)
	np.Spec.Egress = []NetworkPolicyEgressRule{
		{Ports: []NetworkPolicyPort{{Protocol: &udp, Port: &port}}},
		{To: []NetworkPolicyPeer{{IPBlock: &IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}}}}},
	}
	roundTrip(t, np, &networkingv1.NetworkPolicy{})
}

// TestIsDNS1123Subdomain compares the name check with the API
// machinery's own.
func TestIsDNS1123Subdomain(t *testing.T) {
	for _, v := range []string{"", "a", "claude-sandbox", "a.b-c.d", "-a", "a-", "a..b", ".a", "a.", "Claude", "my claim", "a_b", "0", "x.0-9", strings.Repeat("a", 63) + "." + strings.Repeat("b", 190), strings.Repeat("a", 254)} {
		if got, want := IsDNS1123Subdomain(v), validation.IsDNS1123Subdomain(v); !slices.Equal(got, want) {
			t.Errorf("IsDNS1123Subdomain(%q) = %q, want %q", v, got, want)
		}
	}
}

func roundTrip(t *testing.T, ours, theirs any) {
	t.Helper()
	b, err := json.Marshal(ours)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(theirs); err != nil {
		t.Fatalf("decoding %s into the API's type: %v", b, err)
	}
	again, err := json.Marshal(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Errorf("encodings differ:\nours: %s\nAPI:  %s", b, again)
	}
}
