// Package deploy holds the deployment examples (compose.yaml, nginx.conf;
// the Dockerfile is at the repository root) and the tests of the server
// binary as the image builds and runs it: the Dockerfile's build flags,
// DATA_DIR and PORT from the environment, -healthcheck, -help against the
// README's configuration table, the logs of a whole meeting and /metrics.
// Those tests treat the binary as a black box: a subprocess, real HTTP and
// WebSocket clients on loopback.
package deploy
