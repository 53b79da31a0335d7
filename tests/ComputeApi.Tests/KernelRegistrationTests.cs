using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.ComputeApi.Kernels;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using YamlDotNet.RepresentationModel;

namespace CloudApp.ComputeApi.Tests;

/// <summary>A kernel is one class and one registration: the catalog, the route, its limits and its metric follow.</summary>
public class KernelRegistrationTests
{
    [Fact]
    public async Task AFourthKernelNeedsOneClassAndOneRegistrationLine()
    {
        await using var app = ComputeApiFactory.Create(("Compute:Triangle:MaxSize", "5000"))
            .WithWebHostBuilder(b => b.ConfigureTestServices(services => services.AddSingleton<IComputeKernel, TriangleKernel>()));
        using var client = app.CreateClient();

        // Listed beside the built-in kernels, with its own default and the configured maximum.
        var kernels = await client.GetFromJsonAsync<JsonElement>("/api/kernels");
        Assert.Equal(["primes", "matmul", "sha256", "triangle"], kernels.EnumerateArray().Select(k => k.GetProperty("name").GetString()));
        var triangle = kernels.EnumerateArray().Single(k => k.GetProperty("name").GetString() == "triangle");
        Assert.Equal(100, triangle.GetProperty("defaultSize").GetInt64());
        Assert.Equal(5000, triangle.GetProperty("maxSize").GetInt64());

        // Runs through the same route, limiter and answer as the others.
        var body = await client.GetFromJsonAsync<JsonElement>("/api/compute/triangle?size=100");
        Assert.Equal(5050, body.GetProperty("result").GetInt64());
        Assert.Equal("terms", body.GetProperty("work").GetProperty("unit").GetString());
        using var tooLarge = await client.GetAsync("/api/compute/triangle?size=5001");
        Assert.Equal(HttpStatusCode.BadRequest, tooLarge.StatusCode);
        var problem = await tooLarge.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(5000, problem.GetProperty("maximum").GetInt64());

        Assert.Equal("the sum (a number)", triangle.GetProperty("resultMeaning").GetString());

        // Its work and jobs are series of the shared families, told apart by their labels.
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Equal(100, Exposition.Sample(metrics, "compute_work_total", ("compute_kernel", "triangle"), ("compute_work_unit", "terms")));
        Assert.Equal(1, Exposition.Sample(metrics, "compute_jobs_total", ("compute_kernel", "triangle"), ("compute_outcome", "success")));

        // Nothing the service describes itself with names a kernel: the descriptions come from the kernels.
        var openApi = await client.GetStringAsync("/openapi/v1.json");
        var families = string.Join("\n", metrics.Split('\n').Where(l => l.StartsWith("# HELP compute_", StringComparison.Ordinal)));
        foreach (var name in kernels.EnumerateArray().Select(k => k.GetProperty("name").GetString()!))
        {
            Assert.DoesNotContain($"{name}:", openApi, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(name, families, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task DashboardsAndRulesSelectKernelsByLabelNeverByName()
    {
        // Every query in the dashboards and every rule expression works for whatever kernels are registered: a kernel
        // name there would be a panel or a rule that a fourth kernel has to copy.
        await using var app = ComputeApiFactory.Create();
        var kernels = app.Services.GetServices<IComputeKernel>().Select(k => k.Name).ToList();
        var queries = Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "deploy", "grafana", "dashboards"), "*.json")
            .SelectMany(f => Panels(JsonDocument.Parse(File.ReadAllText(f)).RootElement))
            .SelectMany(p => p.TryGetProperty("targets", out var targets) ? targets.EnumerateArray() : Enumerable.Empty<JsonElement>())
            .Select(t => t.GetProperty("expr").GetString()!)
            .Concat(Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "deploy", "prometheus", "rules"), "*.yml").SelectMany(RuleExpressions))
            .ToList();
        Assert.NotEmpty(kernels);
        Assert.Contains(queries, q => q.Contains("compute_kernel", StringComparison.Ordinal));
        // Block scalars (expr: |) included: their text, not their first line.
        Assert.Contains(queries, q => q.Contains('\n', StringComparison.Ordinal));
        Assert.All(queries, q => Assert.DoesNotContain(kernels, k => q.Contains(k, StringComparison.Ordinal)));

        // Rows may hold panels of their own.
        static IEnumerable<JsonElement> Panels(JsonElement holder) =>
            holder.TryGetProperty("panels", out var panels)
                ? panels.EnumerateArray().SelectMany(p => Panels(p).Prepend(p))
                : [];
    }

    private static IEnumerable<string> RuleExpressions(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(file)))
        {
            stream.Load(reader);
        }
        var groups = (YamlSequenceNode)((YamlMappingNode)stream.Documents[0].RootNode)["groups"];
        return groups.Cast<YamlMappingNode>()
            .SelectMany(g => (YamlSequenceNode)g["rules"]).Cast<YamlMappingNode>()
            .Select(r => ((YamlScalarNode)r["expr"]).Value!);
    }

    /// <summary>A kernel the service does not ship: the sum 1 + 2 + ... + n.</summary>
    private sealed class TriangleKernel : IComputeKernel
    {
        public string Name => "triangle";
        public string Description => "Sums 1 + 2 + ... + n.";
        public string SizeMeaning => "the last term n";
        public long HardMaxSize => 1_000_000_000;
        public KernelLimits DefaultLimits => new() { DefaultSize = 100, MaxSize = 1_000_000 };
        public string ResultMeaning => "the sum (a number)";
        public string WorkUnit => "terms";

        public KernelOutput Run(long size, KernelContext context)
        {
            long sum = 0;
            for (var i = 1L; i <= size; i++)
            {
                sum += i;
                if ((i & 0xFFFFF) == 0) context.ThrowIfCancellationRequested();
            }
            context.ReportWork(size);
            return new KernelOutput(sum, size);
        }
    }
}
