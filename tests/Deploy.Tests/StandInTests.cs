using System.Text.Json.Nodes;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// The local stand-ins of the Prometheus family (eng/images/build.sh, selected by eng/prepare.sh) run the pinned
/// version or none at all, and another images file (CLOUDAPP_IMAGES_FILE) re-pins scripts and AppHost alike. Pins of
/// other versions go into a copy of deploy/images.json; the committed file is never touched.
/// </summary>
public sealed class StandInTests
{
    private const string FileVariable = "CLOUDAPP_IMAGES_FILE";

    [Fact]
    public async Task StandInOfAnotherVersionThanThePinIsRefusedByBuildAndPrepare()
    {
        var available = (string)Records()["prometheus"]!["standIn"]!["version"]!;
        using var file = ImagesFile.WithTag("prometheus", "v9.9.9");
        var environment = new Dictionary<string, string?> { [FileVariable] = file.Path };

        var build = await ExternalProgram.RunAsync("bash", [Repository.Path("eng", "images", "build.sh"), "prometheus"],
            TimeSpan.FromMinutes(2), environment);
        AssertRefused(build, available);
        Assert.DoesNotContain("importing", build.Error, StringComparison.Ordinal);

        var prepare = await ExternalProgram.RunAsync("bash", [Repository.Path("eng", "prepare.sh")], TimeSpan.FromMinutes(5), environment);
        AssertRefused(prepare, available);
        // Nothing handed back: no stand-in of the available version in place of the pinned one.
        Assert.DoesNotContain("Images__Prometheus", prepare.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StandInOfThePinnedVersionIsTheOnePrepareHandsBack()
    {
        var family = (await Fact("--keys", "standIn.debianPackage")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("prometheus", family);
        foreach (var key in family)
        {
            var record = Records()[key]!;
            var pinned = (string)record["reference"]!;
            var standIn = await Fact("--stand-in", key);
            Assert.Equal($"{(string)record["standIn"]!["name"]!}:{pinned[(pinned.LastIndexOf(':') + 1)..].TrimStart('v')}", standIn.Trim());

            // Where eng/prepare.sh stood in for the official image (no registry answers), it handed back exactly this
            // reference, and the build accepts it.
            var configured = Environment.GetEnvironmentVariable($"Images__{char.ToUpperInvariant(key[0])}{key[1..]}");
            if (configured is null || configured == pinned) continue;
            Assert.Equal(standIn.Trim(), configured);
            var build = await ExternalProgram.RunAsync("bash", [Repository.Path("eng", "images", "build.sh"), key], TimeSpan.FromMinutes(30));
            Assert.True(build.ExitCode == 0, build.ToString());
            Assert.Contains(standIn.Trim(), build.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnotherImagesFileRepinsTheAppHost()
    {
        using var file = ImagesFile.WithTag("prometheus", "v9.9.9");
        var output = Path.Combine(Path.GetTempPath(), $"cloudapp-k8s-repinned-{Guid.NewGuid():N}");
        try
        {
            var result = await ExternalProgram.RunAsync("dotnet",
                [Repository.AppHostAssembly, "--operation", "publish", "--step", "kubernetes", "--output-path", output],
                TimeSpan.FromMinutes(3), new Dictionary<string, string?> { [FileVariable] = file.Path });
            Assert.True(result.ExitCode == 0, result.ToString());
            var prometheus = File.ReadAllText(Path.Combine(output, "base", "prometheus.yaml"));
            Assert.Contains("image: quay.io/prometheus/prometheus:v9.9.9", prometheus, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    private static void AssertRefused(ExternalProgram.Result result, string available)
    {
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains(
            $"image 'prometheus' is pinned to 9.9.9 (quay.io/prometheus/prometheus:v9.9.9), but its local stand-in can only be built from Debian's prometheus {available}",
            result.Error, StringComparison.Ordinal);
    }

    private static JsonNode Records() =>
        JsonNode.Parse(File.ReadAllText(Repository.Path("deploy", "images.json")))!["images"]!;

    private static async Task<string> Fact(params string[] arguments)
    {
        var result = await ExternalProgram.RunAsync("bash", [Repository.Path("eng", "image-fact.sh"), .. arguments], TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Output;
    }

    /// <summary>A copy of deploy/images.json with one image's tag changed, deleted when disposed.</summary>
    private sealed class ImagesFile(string path) : IDisposable
    {
        public string Path { get; } = path;

        public static ImagesFile WithTag(string key, string tag)
        {
            var json = JsonNode.Parse(File.ReadAllText(Repository.Path("deploy", "images.json")))!;
            var record = json["images"]![key]!;
            var reference = (string)record["reference"]!;
            record["reference"] = $"{reference[..reference.LastIndexOf(':')]}:{tag}";
            var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cloudapp-images-{Guid.NewGuid():N}.json");
            File.WriteAllText(path, json.ToJsonString());
            return new ImagesFile(path);
        }

        public void Dispose() => File.Delete(Path);
    }
}
