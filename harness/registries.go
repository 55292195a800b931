package harness

import "github.com/racestress/racestress/finalizer"

type finalizerPoint = finalizer.Point

func cleanRegistry(name string) bool {
	v, ok := finalizer.Lookup(name)
	return ok && v.Clean
}
