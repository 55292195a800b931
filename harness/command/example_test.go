package command_test

import (
	"context"
	"fmt"
	"time"

	"github.com/racestress/racestress/harness/command"
)

func ExampleCommand_Run() {
	c := command.Command{
		Path:    "sh",
		Args:    []string{"-c", `echo "error: trial $RACESTRESS_TRIAL lost 3 widgets" >&2; exit 1`},
		Timeout: time.Minute,
	}
	for trial := range 2 {
		r := c.Run(context.Background(), trial, int64(trial))
		fmt.Println(r.Outcome, "|", r.Message, "|", r.Signature)
	}
	// Output:
	// fail | fail: exit status 1: error: trial 0 lost 3 widgets | fail: exit 1: error: trial N lost N widgets
	// fail | fail: exit status 1: error: trial 1 lost 3 widgets | fail: exit 1: error: trial N lost N widgets
}
