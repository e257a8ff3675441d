package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// controllers are the kube-controller-manager controllers the tests rely on:
// owner references and foreground deletion, namespace finalization,
// workloads creating their children, and service-account tokens.
var controllers = []string{
	"garbage-collector-controller",
	"namespace-controller",
	"deployment-controller",
	"replicaset-controller",
	"statefulset-controller",
	"daemonset-controller",
	"job-controller",
	"cronjob-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"endpointslice-controller",
	"resourcequota-controller",
	"disruption-controller",
	"clusterrole-aggregation-controller",
	"ttl-after-finished-controller",
}

// readyTimeout bounds the wait for a cold start: a slow, shared CI machine
// takes a few seconds, a broken one never gets there.
const readyTimeout = 120 * time.Second

func runUp(args []string) int {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	dir := fs.String("dir", "", "directory for the control plane's state (created; its contents are removed on exit)")
	_ = fs.Parse(args)
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "kedge-testbed up: --dir is required")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	lab := &lab{dir: *dir}
	err := lab.start(ctx)
	if err == nil {
		logf("ready: export KUBECONFIG=%s", lab.adminKubeconfig())
		<-ctx.Done()
		logf("stopping")
	}
	lab.stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "kedge-testbed up: %v\n", err)
		return 1
	}
	return 0
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kedge-testbed: "+format+"\n", args...)
}

// lab is one running control plane.
type lab struct {
	dir      string
	made     []string // paths under dir this run created, removed on stop
	etcd     *embed.Etcd
	children []*exec.Cmd
}

func (l *lab) path(name string) string { return filepath.Join(l.dir, name) }
func (l *lab) adminKubeconfig() string { return l.path("admin.kubeconfig") }
func (l *lab) mkdir(name string) string {
	p := l.path(name)
	_ = os.MkdirAll(p, 0o700)
	l.made = append(l.made, p)
	return p
}

func (l *lab) start(ctx context.Context) error {
	started := time.Now()
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{"admin.kubeconfig", "controller-manager.kubeconfig", "ready", "apiserver.log", "controller-manager.log"} {
		l.made = append(l.made, l.path(name))
	}
	_ = os.Remove(l.path("ready"))

	pki, err := newPKI(l.mkdir("pki"))
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	serving, err := pki.issue("kube-apiserver", nil, true)
	if err != nil {
		return err
	}
	servingCert, servingKey, err := pki.writePair("apiserver", serving)
	if err != nil {
		return err
	}
	admin, err := pki.issue("kedge-admin", []string{"system:masters"}, false)
	if err != nil {
		return err
	}
	kcm, err := pki.issue("system:kube-controller-manager", nil, false)
	if err != nil {
		return err
	}
	saPub, saKey, err := pki.serviceAccountKeys()
	if err != nil {
		return err
	}

	etcdURL, err := l.startEtcd()
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(port)
	if err := writeKubeconfig(l.adminKubeconfig(), server, pki.caPEM, "kedge-admin", &clientcmdapi.AuthInfo{
		ClientCertificateData: admin.certPEM, ClientKeyData: admin.keyPEM,
	}); err != nil {
		return err
	}
	kcmKubeconfig := l.path("controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmKubeconfig, server, pki.caPEM, "kube-controller-manager", &clientcmdapi.AuthInfo{
		ClientCertificateData: kcm.certPEM, ClientKeyData: kcm.keyPEM,
	}); err != nil {
		return err
	}

	if err := l.spawn("apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+l.mkdir("apiserver-certs"),
		"--tls-cert-file="+servingCert,
		"--tls-private-key-file="+servingKey,
		"--client-ca-file="+pki.path("ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		// A /16, so a test can create thousands of Services (the sync benchmark
		// applies 300).
		"--service-cluster-ip-range=10.0.0.0/16",
		// The "kubernetes" Service's endpoints would be 127.0.0.1, which
		// Endpoints validation refuses; nothing in the tests dials it.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		"--event-ttl=1h",
	); err != nil {
		return err
	}

	adminCfg, err := clientcmd.BuildConfigFromFlags("", l.adminKubeconfig())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := l.waitAPIServer(ctx, adminCfg); err != nil {
		return fmt.Errorf("kube-apiserver (log: %s): %w", l.path("apiserver.log"), err)
	}
	logf("kube-apiserver ready at %s after %s", server, time.Since(started).Round(time.Millisecond))

	if err := l.spawn("controller-manager",
		"--kubeconfig="+kcmKubeconfig,
		"--authentication-kubeconfig="+kcmKubeconfig,
		"--authorization-kubeconfig="+kcmKubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--controllers="+strings.Join(controllers, ","),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+saKey,
		"--root-ca-file="+pki.path("ca.crt"),
		"--profiling=false",
		"--concurrent-gc-syncs=5",
		// The default 20 requests/s per controller makes 200 new Deployments
		// take 40 s to be processed; a test bed on loopback can take more.
		"--kube-api-qps=200",
		"--kube-api-burst=400",
	); err != nil {
		return err
	}
	if err := waitControllerManager(ctx, adminCfg); err != nil {
		return fmt.Errorf("kube-controller-manager (log: %s): %w", l.path("controller-manager.log"), err)
	}
	if err := os.WriteFile(l.path("ready"), []byte(l.adminKubeconfig()+"\n"), 0o644); err != nil {
		return err
	}
	logf("control plane ready after %s", time.Since(started).Round(time.Millisecond))
	return nil
}

func (l *lab) startEtcd() (string, error) {
	clientPort, err := freePort()
	if err != nil {
		return "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return "", err
	}
	cfg := embed.NewConfig()
	cfg.Name = "kedge-testbed"
	cfg.Dir = l.mkdir("etcd")
	clientURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(clientPort)}
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(peerPort)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{clientURL}, []url.URL{clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peerURL}, []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{l.path("etcd.log")}
	l.made = append(l.made, l.path("etcd.log"))
	// Test data need not survive a power cut.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", err
	}
	l.etcd = e
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		return "", errors.New("not ready after 30s")
	}
	return clientURL.String(), nil
}

// spawn runs this binary's NAME subcommand as a child that dies with us,
// logging to DIR/NAME.log.
func (l *lab) spawn(name string, args ...string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	log, err := os.Create(l.path(name + ".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	l.children = append(l.children, cmd)
	return nil
}

// stop ends the children (controller-manager first), then etcd, and removes
// what this run made under the directory.
func (l *lab) stop() {
	for i := len(l.children) - 1; i >= 0; i-- {
		c := l.children[i]
		_ = c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
	}
	if l.etcd != nil {
		l.etcd.Close()
	}
	for _, p := range l.made {
		_ = os.RemoveAll(p)
	}
	_ = os.Remove(l.dir) // only if nothing else is left in it
}

// childExited reports a child that has already died, with its log's tail.
func (l *lab) childExited() error {
	for _, c := range l.children {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(c.Process.Pid, &status, syscall.WNOHANG, nil)
		if err == nil && pid == c.Process.Pid {
			name := c.Args[1]
			return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", name, exitDescription(status), l.path(name+".log"), tail(l.path(name+".log"), 20))
		}
	}
	return nil
}

func exitDescription(s syscall.WaitStatus) string {
	if s.Signaled() {
		return "signal " + s.Signal().String()
	}
	return "exit status " + strconv.Itoa(s.ExitStatus())
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitAPIServer waits for /readyz and then for every APIService, the
// built-in groups included, to report Available: only then is each API group
// served.
func (l *lab) waitAPIServer(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	apiservices := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	last := errors.New("not started")
	for {
		if err := l.childExited(); err != nil {
			return err
		}
		last = func() error {
			body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			if err != nil {
				return fmt.Errorf("/readyz: %v %s", err, body)
			}
			list, err := dyn.Resource(apiservices).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(list.Items) == 0 {
				return errors.New("no APIService registered yet")
			}
			for _, item := range list.Items {
				conditions, _, _ := unstructured.NestedSlice(item.Object, "status", "conditions")
				available := false
				for _, c := range conditions {
					m, _ := c.(map[string]any)
					if m["type"] == "Available" && m["status"] == "True" {
						available = true
					}
				}
				if !available {
					return fmt.Errorf("APIService %s not available", item.GetName())
				}
			}
			return nil
		}()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", readyTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitControllerManager waits for the token controller to have issued the
// default ServiceAccount's CA bundle, which shows the controller-manager
// is connected and running its controllers.
func waitControllerManager(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for {
		_, saErr := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		_, cmErr := client.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if saErr == nil && cmErr == nil {
			return nil
		}
		if saErr != nil && !apierrors.IsNotFound(saErr) {
			return saErr
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no default ServiceAccount or kube-root-ca.crt after %s", readyTimeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func writeKubeconfig(path, server string, ca []byte, user string, auth *clientcmdapi.AuthInfo) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kedge-testbed"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = auth
	cfg.Contexts["kedge-testbed"] = &clientcmdapi.Context{Cluster: "kedge-testbed", AuthInfo: user}
	cfg.CurrentContext = "kedge-testbed"
	return clientcmd.WriteToFile(*cfg, path)
}
