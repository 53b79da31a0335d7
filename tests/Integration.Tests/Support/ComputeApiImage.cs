using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Images;

namespace CloudApp.Integration.Tests.Support;

/// <summary>
/// The ComputeApi container image, built from this checkout: a self-contained publish put on the
/// runtime-deps base by ComputeApi/Dockerfile, the same recipe users and deploy/images/build.sh follow.
/// </summary>
public sealed class ComputeApiImage : IAsyncLifetime
{
    private readonly string _publishDirectory = Path.Combine(Path.GetTempPath(), $"cloudapp-computeapi-{Guid.NewGuid():N}");
    private IFutureDockerImage? _image;

    public IImage Image => _image ?? throw new InvalidOperationException("The image is not built yet.");

    public async Task InitializeAsync()
    {
        await PublishAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));

        _image = new ImageFromDockerfileBuilder()
            .WithName($"cloudapp/computeapi:test-{Guid.NewGuid():N}")
            .WithDockerfileDirectory(Path.Combine(Repository.Root, "ComputeApi"))
            .WithDockerfile("Dockerfile")
            .WithContextDirectory(_publishDirectory)
            .WithBuildArgument("RUNTIME_DEPS_IMAGE", Repository.Images.RuntimeDeps.ToString())
            .WithCleanUp(false)
            .Build();
        await _image.CreateAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_image is not null)
        {
            await _image.DeleteAsync();
            await _image.DisposeAsync();
        }
        if (Directory.Exists(_publishDirectory)) Directory.Delete(_publishDirectory, recursive: true);
    }

    private async Task PublishAsync()
    {
        var project = Path.Combine(Repository.Root, "ComputeApi", "ComputeApi.csproj");
        var result = await ExternalProgram.RunAsync("dotnet",
            ["publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", _publishDirectory, "-nologo", "-v", "quiet"],
            TimeSpan.FromMinutes(10));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed: {result}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ContainersCollection : ICollectionFixture<ComputeApiImage>
{
    public const string Name = "containers";
}
