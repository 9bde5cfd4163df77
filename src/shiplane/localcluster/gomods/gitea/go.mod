// Pins Gitea for the test suite's forge. Only the module's zip is fetched through this
// wrapper (and verified against go.sum); Gitea is built in a copy of its own source with
// its own go.mod and go.sum, whose `replace` directives would be ignored here.
module shiplane.local/tools/gitea

go 1.26.0

require code.gitea.io/gitea v1.27.3
