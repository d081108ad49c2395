// Command etcd runs the etcd server from go.etcd.io/etcd/server/v3.
//
// The Debian etcd package is 3.4.23, older than the 3.5.13 that current
// kube-apiserver watches need, so the tests build their own.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
