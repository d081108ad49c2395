// Command coredns is CoreDNS with only the plugins the dev cluster's DNS needs: the kubernetes
// plugin for cluster.local, plus bind, errors, log, cache, health and ready. CoreDNS's own main
// links every plugin (cloud DNS providers included); this one builds in a fraction of the time.
// The order in which plugins run is CoreDNS's (core/dnsserver/zdirectives.go), not the import
// order below.
package main

import (
	_ "github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	coremain.Run()
}
