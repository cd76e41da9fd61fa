module github.com/spindle-yarn/spindle

go 1.26
