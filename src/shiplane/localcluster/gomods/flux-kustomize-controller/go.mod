// Pins Flux's kustomize-controller for the tests of the `flux` deploy target. Only module zips are
// fetched through this wrapper (and verified against go.sum): the controller is built in a
// copy of its own source with its own go.mod and go.sum, whose `replace` directives would
// be ignored here; its api module, which that go.mod replaces with ./api and its zip
// leaves out, is put at ./api of the copy.
module shiplane.local/tools/flux-kustomize-controller

go 1.26.0

require (
	github.com/fluxcd/kustomize-controller v1.9.6
	github.com/fluxcd/kustomize-controller/api v1.9.6
)
