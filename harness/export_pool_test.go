package harness

// KeepsWorker exposes keepsWorker to the external tests.
var KeepsWorker = keepsWorker
