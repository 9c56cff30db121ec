"""CloudFormation: the resource types moto lacks (`resources`, `http_apis`) and what `cdk deploy`
needs of moto's change sets (`patches`). moto's CloudFormation loads lazily (emulator.moto_changes)."""
