// A reverse proxy built from Go's standard library, a compiled peer for the sidecar bench:
// net/http's server in front of httputil.ReverseProxy with a keep-alive transport. It samples
// nothing; it shows what a compiled request path of the usual kind adds.
//
//	goproxy LISTEN_ADDRESS UPSTREAM_URL
package main

import (
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: goproxy LISTEN_ADDRESS UPSTREAM_URL")
	}
	target, err := url.Parse(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	log.Fatal(http.ListenAndServe(os.Args[1], proxy))
}
