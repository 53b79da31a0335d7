using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.ComputeApi.Kernels;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

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

        // Its work has a counter of its own, and the shared families carry its name.
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Equal(100, Exposition.Sample(metrics, "compute_triangle_terms_total"));
        Assert.Equal(1, Exposition.Sample(metrics, "compute_jobs_total", ("compute_kernel", "triangle"), ("compute_outcome", "success")));
    }

    /// <summary>A kernel the service does not ship: the sum 1 + 2 + ... + n.</summary>
    private sealed class TriangleKernel : IComputeKernel
    {
        public string Name => "triangle";
        public string Description => "Sums 1 + 2 + ... + n.";
        public string SizeMeaning => "the last term n";
        public long HardMaxSize => 1_000_000_000;
        public KernelLimits DefaultLimits => new() { DefaultSize = 100, MaxSize = 1_000_000 };
        public KernelWork Work { get; } = new("terms", "compute.triangle.terms", "{term}", "Terms summed.");

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
