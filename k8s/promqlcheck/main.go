// promqlcheck parses PromQL expressions, one per line on stdin, with Prometheus's own parser, and prints the
// metric names each one selects. Exit 1 when any does not parse. k8s/validate.sh feeds it the expressions of the
// Grafana dashboard and the PrometheusRule (Grafana's $variables replaced by values of their kind first).
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"

	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	p := parser.NewParser(parser.Options{})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	bad, n := 0, 0
	for in.Scan() {
		line := in.Text()
		if line == "" {
			continue
		}
		n++
		expr, err := p.ParseExpr(line)
		if err != nil {
			fmt.Printf("does not parse: %s\n  %v\n", line, err)
			bad++
			continue
		}
		seen := map[string]bool{}
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok && vs.Name != "" {
				seen[vs.Name] = true
			}
			return nil
		})
		names := make([]string, 0, len(seen))
		for name := range seen {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Printf("ok %v\n", names)
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("%d expression(s), %d do not parse\n", n, bad)
	if bad > 0 {
		os.Exit(1)
	}
}
