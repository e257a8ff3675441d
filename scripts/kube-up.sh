#!/usr/bin/env bash
# Starts the Kubernetes test bed by hand, for debugging kedge against a real
# API server: builds what is missing (Go needed), starts etcd,
# kube-apiserver and kube-controller-manager on loopback, and prints the
# exports to use it. Ctrl-C (or ending this script) stops it and removes
# everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

testbed_tools
testbed_start
cat <<TXT
The test bed is ready (Kubernetes $(kubectl version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')). In another shell:

  export KUBECONFIG=$KUBECONFIG PATH=$testbed_bin:\$PATH
  cargo test --workspace        # the Kubernetes tests use \$KUBECONFIG
  kedge-testbed kubeconfig --namespace NS --service-account SA --out sa.kubeconfig

Logs: $work/kube/*.log. Press Ctrl-C to stop it and remove everything.
TXT
wait "${pids[-1]}"
