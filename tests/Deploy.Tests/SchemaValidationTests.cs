namespace CloudApp.Deploy.Tests;

/// <summary>
/// Checks by validators not written here. Every object of every committed kustomization, as kustomize renders it, checked against the Kubernetes API's
/// OpenAPI schema by a validator not written here (the npm package kubernetes-models, run with Node): wrong
/// types, missing required fields, bad enum values and unknown kinds fail. Unknown fields, which it lets through,
/// are caught by the strict KubernetesClient reading in <see cref="KubernetesManifestTests"/>. Every dashboard checked
/// against Grafana's published Dashboard schema (npm @grafana/schema, compiled with TypeScript --strict).
/// </summary>
public sealed class SchemaValidationTests : IClassFixture<SchemaValidationTests.Validator>
{
    private readonly Validator _validator;

    public SchemaValidationTests(Validator validator) => _validator = validator;

    [Theory]
    [InlineData(".")]
    [InlineData("base")]
    [InlineData("node-agent")]
    [InlineData("overlays/dev")]
    [InlineData("overlays/production")]
    [InlineData("overlays/prometheus-operator")]
    [InlineData("overlays/namespace-example")]
    public async Task EveryRenderedObjectMatchesTheKubernetesSchema(string folder)
    {
        var result = await _validator.ValidateAsync(Path.Combine(Manifests.Directory, folder));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^\d+ objects valid", result.Output.Trim());
    }

    [Fact]
    public async Task TheValidatorRejectsAnObjectTheApiServerWouldReject()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"cloudapp-invalid-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            // A Deployment without a selector, and a Service port given as a name.
            File.WriteAllText(Path.Combine(folder, "kustomization.yaml"), "resources: [objects.yaml]\n");
            File.WriteAllText(Path.Combine(folder, "objects.yaml"), """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: broken}
                spec:
                  template:
                    metadata: {labels: {app: broken}}
                    spec: {containers: [{name: app, image: example/app:1.0}]}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: broken}
                spec:
                  ports: [{port: http}]
                """);
            var result = await _validator.ValidateAsync(folder);

            Assert.Equal(1, result.ExitCode);
            Assert.Contains("Deployment /broken", result.Output);
            Assert.Contains("selector", result.Output);
            Assert.Contains("Service /broken", result.Output);

            // The Prometheus Operator's kinds are checked against its own schema: endpoints must be a list.
            File.WriteAllText(Path.Combine(folder, "objects.yaml"), """
                apiVersion: monitoring.coreos.com/v1
                kind: PodMonitor
                metadata: {name: broken}
                spec:
                  selector: {matchLabels: {app: broken}}
                  podMetricsEndpoints: {port: http}
                """);
            result = await _validator.ValidateAsync(folder);

            Assert.Equal(1, result.ExitCode);
            Assert.Contains("PodMonitor /broken", result.Output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task EveryDashboardMatchesGrafanasPublishedSchema()
    {
        var dashboards = Directory.GetFiles(Repository.Path("deploy", "grafana", "dashboards"), "*.json");
        Assert.NotEmpty(dashboards);

        var result = await _validator.CheckDashboardsAsync(dashboards);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"{dashboards.Length} dashboards match Grafana's schema", result.Output);
    }

    [Fact]
    public async Task GrafanasSchemaRejectsAnUnknownPanelKeyAndAWrongType()
    {
        var file = Path.Combine(Path.GetTempPath(), $"cloudapp-dashboard-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(file, """
                {"title": "broken", "schemaVersion": 39, "refresh": 5,
                 "panels": [{"type": "timeseries", "title": "x", "colour": "red", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0}}]}
                """);
            var result = await _validator.CheckDashboardsAsync([file]);

            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("colour", result.Output + result.Error);
            Assert.Contains("not assignable to type 'string'", result.Output + result.Error); // refresh is a string
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Installs the validators' pinned packages (package-lock.json) once, then checks what it is given.</summary>
    public sealed class Validator : IAsyncLifetime
    {
        private static readonly string Folder = Path.Combine(Repository.Root, "tests", "Deploy.Tests", "schema");

        public async Task InitializeAsync()
        {
            var install = await ExternalProgram.RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], TimeSpan.FromMinutes(5),
                workingDirectory: Folder);
            Assert.True(install.ExitCode == 0, install.ToString());
        }

        public Task DisposeAsync() => Task.CompletedTask;

        internal Task<ExternalProgram.Result> CheckDashboardsAsync(IEnumerable<string> files) =>
            ExternalProgram.RunAsync("node", ["dashboards.mjs", .. files], TimeSpan.FromMinutes(2), workingDirectory: Folder);

        internal Task<ExternalProgram.Result> ValidateAsync(string kustomization) =>
            ExternalProgram.RunAsync("bash", ["-o", "pipefail", "-c", "kubectl kustomize \"$1\" | node validate.mjs", "validate", kustomization],
                TimeSpan.FromMinutes(2), workingDirectory: Folder);
    }
}
