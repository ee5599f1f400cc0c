"""Mixed-precision processing elements (issue 11): one module per PE, each with its golden
model of the same name in golden/pe/."""
