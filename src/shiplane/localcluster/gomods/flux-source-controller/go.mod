// Pins Flux's source-controller for the tests of the `flux` deploy target. Only module zips are
// fetched through this wrapper (and verified against go.sum): the controller is built in a
// copy of its own source with its own go.mod and go.sum, whose `replace` directives would
// be ignored here; its api module, which that go.mod replaces with ./api and its zip
// leaves out, is put at ./api of the copy.
module shiplane.local/tools/flux-source-controller

go 1.26.0

require (
	github.com/fluxcd/source-controller v1.9.6
	github.com/fluxcd/source-controller/api v1.9.6
)

// The module proxy here does not serve github.com/fluxcd/pkg/artifact v0.18.3, which
// source-controller v1.9.6 requires; v0.18.0 of the same minor differs from v0.18.2 only in
// its go.mod (dependency bumps) and builds. The build carries this replace (and its go.sum
// lines) into the controller's own go.mod.
replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0
