// Package faults holds black-box fault and chaos tests of the real server
// binary: it is built once, run on loopback with a temporary data folder,
// restarted with SIGTERM and kill -9 while clients edit through a proxy
// that cuts and delays their connections. PROMISES.md lists what the app
// promises and the test that checks each promise. The package has no code
// of its own: everything is in its tests.
package faults
