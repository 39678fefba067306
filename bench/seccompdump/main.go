// Command seccompdump writes the sandbox's seccomp program to standard
// output, so benchmarks can run the raw bwrap command the launcher renders.
package main

import (
	"fmt"
	"os"

	"github.com/claude-sandbox/claude-sandbox/render"
)

func main() {
	prog, err := render.SeccompProgram(render.SeccompOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(prog)
}
