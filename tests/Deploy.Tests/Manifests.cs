using k8s;
using k8s.Models;

namespace CloudApp.Deploy.Tests;

/// <summary>The committed kustomize base (deploy/k8s) and its node-agent folder, and what kustomize builds from them.</summary>
internal static class Manifests
{
    public static string Directory => Repository.Path("deploy", "k8s");

    /// <summary>The generated object files: the base's and its node-agent folder's (not kustomizations, overlays or components).</summary>
    public static IReadOnlyList<string> YamlFiles =>
        [.. new[] { Directory, System.IO.Path.Combine(Directory, "node-agent") }
            .SelectMany(d => System.IO.Directory.GetFiles(d, "*.yaml"))
            .Where(f => System.IO.Path.GetFileName(f) != "kustomization.yaml").Order(StringComparer.Ordinal)];

    /// <summary>Every object of the committed files, read strictly: an unknown field fails.</summary>
    public static IReadOnlyList<object> Committed() =>
        [.. YamlFiles.SelectMany(f => KubernetesYaml.LoadAllFromString(File.ReadAllText(f), typeMap: null, strict: true))];

    /// <summary>Runs <c>kubectl kustomize</c> on a copy of the base (in <c>base/</c>), or on an overlay <paramref name="prepare"/> writes beside it.</summary>
    public static async Task<(ExternalProgram.Result Result, string Directory)> KustomizeAsync(Action<string>? prepare = null)
    {
        var copy = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cloudapp-k8s-{Guid.NewGuid():N}");
        var @base = System.IO.Path.Combine(copy, "base");
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*", SearchOption.AllDirectories))
        {
            var destination = System.IO.Path.Combine(@base, System.IO.Path.GetRelativePath(Directory, file));
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
        prepare?.Invoke(copy);
        var target = System.IO.File.Exists(System.IO.Path.Combine(copy, "kustomization.yaml")) ? copy : @base;
        var result = await ExternalProgram.RunAsync("kubectl", ["kustomize", target], TimeSpan.FromMinutes(1));
        return (result, copy);
    }

    /// <summary>The whole application as generated: the base and the node agents.</summary>
    public static async Task<IReadOnlyList<object>> BuiltAsync()
    {
        var (result, copy) = await KustomizeAsync(root =>
            File.WriteAllText(System.IO.Path.Combine(root, "kustomization.yaml"), "resources: [base, base/node-agent]\n"));
        try
        {
            Assert.True(result.ExitCode == 0, $"kubectl kustomize failed: {result}");
            return KubernetesYaml.LoadAllFromString(result.Output, typeMap: null, strict: true);
        }
        finally
        {
            System.IO.Directory.Delete(copy, recursive: true);
        }
    }

    public static IEnumerable<(IMetadata<V1ObjectMeta> Workload, V1PodTemplateSpec Pod)> Workloads(IEnumerable<object> objects) =>
        objects.Select(o => o switch
        {
            V1Deployment d => ((IMetadata<V1ObjectMeta>)d, d.Spec.Template),
            V1DaemonSet d => (d, d.Spec.Template),
            _ => ((IMetadata<V1ObjectMeta>)null!, (V1PodTemplateSpec)null!),
        }).Where(w => w.Item1 is not null);
}
