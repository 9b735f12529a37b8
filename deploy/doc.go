// Package deploy holds cairn's deployment files: the container image
// (Dockerfile), Kubernetes manifests (kubernetes/) and a systemd unit
// (systemd/). It has no Go code of its own; deploy_test.go checks the
// files' security and wiring invariants so that an edit that, say,
// drops readOnlyRootFilesystem or widens the sensor's capabilities
// fails go test.
package deploy
