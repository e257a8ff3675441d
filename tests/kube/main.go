// Command kedge-testbed runs a real Kubernetes control plane on loopback for
// kedge's tests: etcd (embedded), kube-apiserver and kube-controller-manager,
// all built from their upstream Go modules. There is no kubelet and no
// scheduler, so pods never run; a test that needs a workload's status writes
// it through the /status subresource, as a kubelet would.
//
// Usage:
//
//	kedge-testbed up --dir DIR
//	    Starts the control plane with its state under DIR, writes
//	    DIR/admin.kubeconfig and, once every API group is served and the
//	    controller-manager is working, DIR/ready. Runs until SIGINT or
//	    SIGTERM, then stops everything and removes what it made in DIR.
//	kedge-testbed kubeconfig --kubeconfig ADMIN --namespace NS --service-account SA [--out FILE] [--expiration 1h]
//	    Mints a token for an existing ServiceAccount through the TokenRequest
//	    API and writes a kubeconfig that authenticates as it.
//	kedge-testbed apiserver ARGS...
//	kedge-testbed controller-manager ARGS...
//	    The upstream commands, run as child processes by "up".
package main

import (
	"fmt"
	"os"

	_ "time/tzdata" // CronJob time zones, as the upstream binaries do

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	sub, args := os.Args[1], os.Args[2:]
	switch sub {
	case "up":
		os.Exit(runUp(args))
	case "kubeconfig":
		os.Exit(runKubeconfig(args))
	case "apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "controller-manager":
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  kedge-testbed up --dir DIR
  kedge-testbed kubeconfig --kubeconfig ADMIN --namespace NS --service-account SA [--out FILE] [--expiration 1h]`)
	os.Exit(2)
}
