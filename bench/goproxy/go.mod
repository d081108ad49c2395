module kubedrift.dev/bench/goproxy

go 1.22
