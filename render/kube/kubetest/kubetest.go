// Package kubetest decodes exported Kubernetes manifests strictly into
// the real API types of k8s.io/api, for tests: what the launcher writes
// with package kube must be what a cluster reads. The launcher itself
// never imports it.
package kubetest

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// ParseManifest decodes a manifest strictly: a Pod, then a
// NetworkPolicy if there is one. Unknown or duplicate fields, and any
// other document, are errors.
func ParseManifest(manifest []byte) (*corev1.Pod, *networkingv1.NetworkPolicy, error) {
	docs := strings.Split(string(manifest), "\n---\n")
	if len(docs) > 2 {
		return nil, nil, fmt.Errorf("manifest: %d documents, want a Pod and at most a NetworkPolicy", len(docs))
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &pod); err != nil {
		return nil, nil, fmt.Errorf("manifest: the Pod: %w", err)
	}
	if pod.Kind != "Pod" || pod.APIVersion != "v1" {
		return nil, nil, fmt.Errorf("manifest: first document is %s %s, want v1 Pod", pod.APIVersion, pod.Kind)
	}
	if len(docs) == 1 {
		return &pod, nil, nil
	}
	var np networkingv1.NetworkPolicy
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &np); err != nil {
		return nil, nil, fmt.Errorf("manifest: the NetworkPolicy: %w", err)
	}
	if np.Kind != "NetworkPolicy" || np.APIVersion != "networking.k8s.io/v1" {
		return nil, nil, fmt.Errorf("manifest: second document is %s %s, want networking.k8s.io/v1 NetworkPolicy", np.APIVersion, np.Kind)
	}
	return &pod, &np, nil
}
