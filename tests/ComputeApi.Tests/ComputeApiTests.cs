using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.ComputeApi.Kernels;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudApp.ComputeApi.Tests;

public class ComputeApiTests
{
    private const string ProblemJson = "application/problem+json";

    /// <summary>The kernels the service registers, in registration order: what every list of kernels must show.</summary>
    private static List<string> Registered(WebApplicationFactory<Program> app) =>
        [.. app.Services.GetServices<IComputeKernel>().Select(k => k.Name)];

    [Fact]
    public async Task RunsAKernelAndReturnsItsResultWithElapsedAndWork()
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        var body = await client.GetFromJsonAsync<JsonElement>("/api/compute/primes?size=1000000");

        Assert.Equal("primes", body.GetProperty("kernel").GetString());
        Assert.Equal(1_000_000, body.GetProperty("size").GetInt64());
        Assert.Equal(78_498, body.GetProperty("result").GetInt64());
        Assert.True(body.GetProperty("elapsed").GetDouble() > 0);
        Assert.Equal(1_000_000, body.GetProperty("work").GetProperty("amount").GetInt64());
        Assert.Equal("numbers", body.GetProperty("work").GetProperty("unit").GetString());
    }

    [Theory]
    [InlineData("matmul", 64, "flop")]
    [InlineData("sha256", 2, "bytes")]
    public async Task RunsEveryKernel(string kernel, long size, string unit)
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        var body = await client.GetFromJsonAsync<JsonElement>($"/api/compute/{kernel}?size={size}");

        Assert.Equal(kernel, body.GetProperty("kernel").GetString());
        Assert.Equal(unit, body.GetProperty("work").GetProperty("unit").GetString());
        Assert.NotEqual(JsonValueKind.Null, body.GetProperty("result").ValueKind);
    }

    [Fact]
    public async Task UsesTheConfiguredDefaultSizeWhenNoneIsGiven()
    {
        await using var app = ComputeApiFactory.Create(("Compute:Primes:DefaultSize", "1000"));
        using var client = app.CreateClient();

        var body = await client.GetFromJsonAsync<JsonElement>("/api/compute/primes");

        Assert.Equal(1_000, body.GetProperty("size").GetInt64());
        Assert.Equal(168, body.GetProperty("result").GetInt64());
    }

    [Fact]
    public async Task ListsTheKernelsWithTheirConfiguredLimits()
    {
        await using var app = ComputeApiFactory.Create(("Compute:MatMul:MaxSize", "512"));
        using var client = app.CreateClient();

        var kernels = await client.GetFromJsonAsync<JsonElement[]>("/api/kernels");

        Assert.Equal(Registered(app), kernels!.Select(k => k.GetProperty("name").GetString()));
        var matmul = kernels!.Single(k => k.GetProperty("name").GetString() == "matmul");
        Assert.Equal(512, matmul.GetProperty("maxSize").GetInt64());
        Assert.Equal(256, matmul.GetProperty("defaultSize").GetInt64());
        Assert.Equal("/api/compute/matmul", matmul.GetProperty("href").GetString());
    }

    [Fact]
    public async Task DescribesOneKernelAndFindsItCaseInsensitively()
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        var kernel = await client.GetFromJsonAsync<JsonElement>("/api/kernels/SHA256");

        Assert.Equal("sha256", kernel.GetProperty("name").GetString());
        Assert.Equal(1024, kernel.GetProperty("maxSize").GetInt64());
    }

    [Fact]
    public async Task RootPageSaysWhatTheServiceIs()
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("ComputeApi", html);
        Assert.All([.. Registered(app), "/metrics", "/openapi/v1.json"], s => Assert.Contains(s, html));
    }

    [Fact]
    public async Task PublishesAnOpenApiDocumentForTheComputeRoutes()
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");

        Assert.True(paths.TryGetProperty("/api/kernels", out _));
        var run = paths.GetProperty("/api/compute/{kernel}").GetProperty("get");
        Assert.Equal("RunKernel", run.GetProperty("operationId").GetString());
        foreach (var status in new[] { "200", "400", "404", "429", "504" })
        {
            Assert.True(run.GetProperty("responses").TryGetProperty(status, out _), $"response {status} documented");
        }
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("abc", "not a whole number")]
    [InlineData("1.5", "not a whole number")]
    [InlineData("1e9", "not a whole number")]
    [InlineData("-5", "positive")]
    [InlineData("0", "at least 1")]
    [InlineData("99999999999999999999", "overflows")]
    [InlineData("10000000001", "above the maximum of 10000000000")]
    public async Task RejectsABadSizeWithProblemDetailsNamingTheFieldAndTheLimit(string size, string reason)
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        using var response = await client.GetAsync($"/api/compute/primes?size={Uri.EscapeDataString(size)}");
        var problem = await ReadProblem(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        var message = Assert.Single(problem.GetProperty("errors").GetProperty("size").EnumerateArray()).GetString()!;
        Assert.Contains(reason, message);
        Assert.Contains("10000000000", message);
        Assert.Equal(10_000_000_000, problem.GetProperty("maximum").GetInt64());
        Assert.Equal(1, problem.GetProperty("minimum").GetInt64());
        Assert.Equal("primes", problem.GetProperty("kernel").GetString());
    }

    [Fact]
    public async Task AnswersAnUnknownKernelWith404ProblemDetails()
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/api/compute/fibonacci?size=10");
        var problem = await ReadProblem(response);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("fibonacci", problem.GetProperty("detail").GetString());
        Assert.Equal(Registered(app), problem.GetProperty("kernels").EnumerateArray().Select(k => k.GetString()));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task AnswersAWrongMethodWith405(string method)
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/api/compute/primes?size=10"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Contains("GET", response.Content.Headers.Allow);
        await ReadProblem(response);
    }

    [Fact]
    public async Task AnswersAnUnknownRouteWith404ProblemDetails()
    {
        await using var app = ComputeApiFactory.Create();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/no/such/route");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await ReadProblem(response);
    }

    [Fact]
    public async Task StopsAJobAtTheDeadlineAndAnswers504()
    {
        await using var app = ComputeApiFactory.Create(("Compute:RequestTimeout", "00:00:00.300"), ComputeApiFactory.AllowLongJobs);
        using var client = app.CreateClient();

        using var response = await client.GetAsync(ComputeApiFactory.LongJob);
        var problem = await ReadProblem(response);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal(0.3, problem.GetProperty("timeoutSeconds").GetDouble());
        Assert.Equal("primes", problem.GetProperty("kernel").GetString());

        var metrics = await client.GetStringAsync("/metrics");
        Assert.Equal(1, Exposition.Sample(metrics, "compute_jobs_total", ("compute_kernel", "primes"), ("compute_outcome", "timeout")));
        Assert.Equal(0, Exposition.Sample(metrics, "compute_jobs_active", ("compute_kernel", "primes")));
    }

    [Fact]
    public async Task StopsAJobWhenTheClientGoesAway()
    {
        await using var app = ComputeApiFactory.Create(ComputeApiFactory.AllowLongJobs);
        using var client = app.CreateClient();
        using var disconnect = new CancellationTokenSource();

        var request = client.GetAsync(ComputeApiFactory.LongJob, disconnect.Token);
        await Eventually(client, m => Exposition.Sample(m, "compute_jobs_active", ("compute_kernel", "primes")) == 1);
        await disconnect.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        await Eventually(client, m =>
            Exposition.Sample(m, "compute_jobs_total", ("compute_outcome", "cancelled")) == 1
            && Exposition.Sample(m, "compute_jobs_active", ("compute_kernel", "primes")) == 0);
    }

    [Fact]
    public async Task AnswersAKernelFailureWith500ProblemDetailsWithoutInternals()
    {
        await using var app = ComputeApiFactory.Create().WithWebHostBuilder(b => b.ConfigureTestServices(services =>
        {
            services.RemoveAll<IComputeKernel>();
            services.AddSingleton<IComputeKernel, ThrowingKernel>();
        }));
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/api/compute/primes?size=10");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType!.MediaType);
        Assert.DoesNotContain(ThrowingKernel.Secret, text);
        Assert.DoesNotContain("   at ", text);

        // The process survives and keeps serving.
        using var next = await client.GetAsync("/api/kernels");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task AnswersAJobWithoutRoomForItsMemoryWith503AndKeepsServing()
    {
        // A replica whose process may use 64 MiB and already uses 60: a matmul of order 1024 (8 MiB for C) has no room.
        using var scratch = new ScratchMemory(TimeSpan.FromMinutes(1), budgetBytes: () => 64L << 20, usedBytes: () => 60L << 20);
        await using var app = ComputeApiFactory.Create().WithWebHostBuilder(b => b.ConfigureTestServices(services =>
            services.AddSingleton(scratch)));
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/api/compute/matmul?size=1024");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Equal("matmul", problem.GetProperty("kernel").GetString());
        Assert.Equal(1024, problem.GetProperty("size").GetInt64());
        Assert.Equal(64L << 20, problem.GetProperty("limitBytes").GetInt64());
        Assert.True(problem.GetProperty("requiredBytes").GetInt64() >= 1024L * 1024 * sizeof(double));
        Assert.True(problem.GetProperty("usedBytes").GetInt64() >= 60L << 20);
        Assert.Contains("smaller size", problem.GetProperty("detail").GetString());
        Assert.Equal(0, scratch.ReservedBytes);

        // Nothing lost: a job that fits still runs, and the rejection is counted with its reason.
        var small = await client.GetFromJsonAsync<JsonElement>("/api/compute/matmul?size=64");
        Assert.Equal("matmul", small.GetProperty("kernel").GetString());
        await Eventually(client, m =>
            Exposition.Sample(m, "compute_rejections_total", ("compute_rejection_reason", "insufficient_memory")) == 1);
    }

    [Fact]
    public async Task RefusesToStartWithInconsistentLimits()
    {
        await using var app = ComputeApiFactory.Create(("Compute:MatMul:DefaultSize", "4000"), ("Compute:MatMul:MaxSize", "3000"));

        var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        Assert.Contains("Compute:matmul:DefaultSize", error.ToString());
    }

    [Fact]
    public async Task RefusesToStartWithAMaximumTheKernelCannotRun()
    {
        await using var app = ComputeApiFactory.Create(("Compute:MatMul:MaxSize", "100000"));

        var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        Assert.Contains("Compute:matmul:MaxSize", error.ToString());
    }

    [Theory]
    [InlineData("Compute:RequestTimeout", "00:00:00.010")]
    [InlineData("Compute:RequestTimeout", "02:00:00")]
    [InlineData("Compute:RetryAfter", "00:00:00")]
    public async Task RefusesToStartWithATimeOutsideItsRange(string key, string value)
    {
        await using var app = ComputeApiFactory.Create((key, value));

        var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        Assert.Contains(key.Split(':')[1], error.ToString());
    }

    [Fact]
    public async Task RefusesToStartWithANegativeQueue()
    {
        await using var app = ComputeApiFactory.Create(("Compute:QueueLimit", "-1"));

        var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());

        Assert.Contains("QueueLimit", error.ToString());
    }

    internal static async Task<JsonElement> ReadProblem(HttpResponseMessage response)
    {
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text); // no stack trace, ever
        var problem = JsonSerializer.Deserialize<JsonElement>(text);
        Assert.Equal((int)response.StatusCode, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.StartsWith("https://", problem.GetProperty("type").GetString());
        return problem;
    }

    internal static async Task Eventually(HttpClient client, Func<string, bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var metrics = await client.GetStringAsync("/metrics", timeout.Token);
            if (condition(metrics)) return;
            await Task.Delay(100, timeout.Token);
        }
    }
}
