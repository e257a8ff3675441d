package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// runKubeconfig mints a kubeconfig for an existing ServiceAccount, so a test
// or a person can act with exactly the rights its RBAC bindings grant.
func runKubeconfig(args []string) int {
	fs := flag.NewFlagSet("kubeconfig", flag.ExitOnError)
	admin := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "admin kubeconfig (default $KUBECONFIG)")
	namespace := fs.String("namespace", "default", "the ServiceAccount's namespace")
	name := fs.String("service-account", "", "the ServiceAccount's name")
	out := fs.String("out", "", "where to write the kubeconfig (default: standard output)")
	expiration := fs.Duration("expiration", time.Hour, "token lifetime")
	_ = fs.Parse(args)
	if *name == "" || *admin == "" {
		fmt.Fprintln(os.Stderr, "kedge-testbed kubeconfig: --service-account and --kubeconfig (or $KUBECONFIG) are required")
		return 2
	}
	if err := mintKubeconfig(*admin, *namespace, *name, *expiration, *out); err != nil {
		fmt.Fprintf(os.Stderr, "kedge-testbed kubeconfig: %v\n", err)
		return 1
	}
	return 0
}

func mintKubeconfig(adminPath, namespace, name string, expiration time.Duration, out string) error {
	raw, err := clientcmd.LoadFromFile(adminPath)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	seconds := int64(expiration.Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	user := "system:serviceaccount:" + namespace + ":" + name
	mint := clientcmdapi.NewConfig()
	mint.Clusters["kedge-testbed"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	mint.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	mint.Contexts["kedge-testbed"] = &clientcmdapi.Context{Cluster: "kedge-testbed", AuthInfo: user, Namespace: namespace}
	mint.CurrentContext = "kedge-testbed"
	if out == "" {
		data, err := clientcmd.Write(*mint)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(data)
		return err
	}
	return clientcmd.WriteToFile(*mint, out)
}
