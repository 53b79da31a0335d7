using System.Net;
using k8s.Models;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Hosting;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// The committed Kubernetes manifests: generated from the app model, buildable by kustomize, valid for the
/// Kubernetes API types, and consistent with themselves and with the service they run. No cluster runs on these
/// machines; everything a cluster would reject or misroute is checked here instead.
/// </summary>
public sealed class KubernetesManifestTests
{
    [Fact]
    public async Task CommittedManifestsAreExactlyWhatTheAppHostGenerates()
    {
        var output = Path.Combine(Path.GetTempPath(), $"cloudapp-k8s-fresh-{Guid.NewGuid():N}");
        try
        {
            // Every image overridden, as eng/prepare.sh does for local stand-ins (and more): the publish names the pins
            // regardless, so the committed manifests come out of a machine whatever its Images__* say.
            var environment = typeof(CloudApp.AppHost.ContainerImages).GetProperties()
                .Where(p => p.PropertyType == typeof(CloudApp.AppHost.ImageReference))
                .ToDictionary(p => $"{CloudApp.AppHost.ContainerImages.Section}__{p.Name}", string? (p) => $"example.org/other/{p.Name.ToLowerInvariant()}:v0.0.1");
            Assert.Contains("Images__Prometheus", environment.Keys);
            var result = await ExternalProgram.RunAsync("dotnet",
                [Repository.AppHostAssembly, "--operation", "publish", "--step", "kubernetes", "--output-path", output],
                TimeSpan.FromMinutes(3), environment);
            Assert.True(result.ExitCode == 0, result.ToString());

            // Every generated file, the ConfigMaps' files under config/ included; components/, overlays/ and README.md
            // are written by hand (the generator leaves them alone).
            List<string> Files(string root) => [.. Directory.GetFiles(root, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(root, f))
                .Where(f => !f.StartsWith("components" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                    && !f.StartsWith("overlays" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                    && f != "README.md")
                .Order(StringComparer.Ordinal)];
            var fresh = Files(output);
            var committed = Files(Manifests.Directory);
            Assert.Equal(fresh, committed);
            foreach (var file in fresh)
            {
                Assert.True(
                    File.ReadAllText(Path.Combine(output, file!)) == File.ReadAllText(Path.Combine(Manifests.Directory, file!)),
                    $"deploy/k8s/{file} differs from a fresh generation; run: dotnet aspire do kubernetes");
            }
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public async Task OneSettingPointsEveryPublishedRunbookLinkAtTheTeamsOwnCopy()
    {
        const string runbook = "https://wiki.example.org/sre/cloudapp-runbook";
        var output = Path.Combine(Path.GetTempPath(), $"cloudapp-k8s-runbook-{Guid.NewGuid():N}");
        try
        {
            var result = await ExternalProgram.RunAsync("dotnet",
                [Repository.AppHostAssembly, "--operation", "publish", "--step", "kubernetes", "--output-path", output, $"--Kubernetes:RunbookUrl={runbook}"],
                TimeSpan.FromMinutes(3));
            Assert.True(result.ExitCode == 0, result.ToString());

            // The ConfigMap's rule files and the Operator's PrometheusRule objects: the same anchors, the new document.
            var source = Links(File.ReadAllText(Repository.Path("deploy", "prometheus", "rules", "computeapi.rules.yml")));
            Assert.NotEmpty(source);
            foreach (var published in new[] { Path.Combine(output, "base", "config", "prometheus-rules", "computeapi.rules.yml"), Path.Combine(output, "prometheus-operator", "rules.yaml") })
            {
                var links = Links(File.ReadAllText(published));
                Assert.Equal(source.Select(l => runbook + l[l.IndexOf('#', StringComparison.Ordinal)..]), links);
            }

            var refused = await ExternalProgram.RunAsync("dotnet",
                [Repository.AppHostAssembly, "--operation", "publish", "--step", "kubernetes", "--output-path", output, "--Kubernetes:RunbookUrl=docs/runbook.md"],
                TimeSpan.FromMinutes(3));
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("Kubernetes:RunbookUrl must be an absolute http(s) URL", refused.Output + refused.Error, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }

        static List<string> Links(string rules) => [.. rules.Split('\n')
            .Select(l => l.Trim()).Where(l => l.StartsWith("runbook_url:", StringComparison.Ordinal))
            .Select(l => l["runbook_url:".Length..].Trim().Trim('"'))];
    }

    [Fact]
    public async Task KustomizeBuildsTheCommittedBaseAsItIsAndItCarriesNoPassword()
    {
        // The committed folders themselves, as `kubectl apply -k deploy/k8s` (or a git URL) reads them: nothing to create first.
        var objects = new List<object>();
        foreach (var folder in new[] { Path.Combine(Manifests.Directory, "base"), Path.Combine(Manifests.Directory, "node-agent") })
        {
            var result = await ExternalProgram.RunAsync("kubectl", ["kustomize", folder], TimeSpan.FromMinutes(1));
            Assert.True(result.ExitCode == 0, result.ToString());
            objects.AddRange(k8s.KubernetesYaml.LoadAllFromString(result.Output, typeMap: null, strict: true));
        }

        var kinds = objects.Select(o => o.GetType().Name).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            nameof(V1Namespace), nameof(V1Deployment), nameof(V1DaemonSet), nameof(V1Service), nameof(V1ConfigMap),
            nameof(V1ServiceAccount), nameof(V1ClusterRole), nameof(V1ClusterRoleBinding),
        }, kinds);
        Assert.Empty(objects.OfType<V1Secret>());
        // No password, and no admin account created with a default one: anonymous visitors may view.
        var grafana = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "grafana").Spec.Template.Spec.Containers[0];
        Assert.DoesNotContain(grafana.Env, e => e.Name.StartsWith("GF_SECURITY_ADMIN_PASSWORD", StringComparison.Ordinal));
        Assert.Contains(grafana.Env, e => e.Name == "GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION" && e.Value == "true");
        Assert.Contains(grafana.Env, e => e.Name == "GF_AUTH_ANONYMOUS_ORG_ROLE" && e.Value == "Viewer");
    }

    [Fact]
    public void EveryCommittedObjectReadsAsItsKubernetesTypeWithNoUnknownField()
    {
        var objects = Manifests.Committed();

        Assert.NotEmpty(objects);
        Assert.All(objects, o => Assert.IsAssignableFrom<k8s.IKubernetesObject>(o));
        Assert.DoesNotContain(objects, o => o is not (V1Namespace or V1Deployment or V1DaemonSet or V1Service or V1ConfigMap
            or V1ServiceAccount or V1ClusterRole or V1ClusterRoleBinding or V1Role or V1RoleBinding));
    }

    [Fact]
    public async Task EveryServiceSelectsThePodsOfExactlyItsOwnWorkload()
    {
        var objects = await Manifests.BuiltAsync();
        var workloads = Manifests.Workloads(objects).ToList();

        foreach (var service in objects.OfType<V1Service>())
        {
            var selected = workloads.Where(w =>
                w.Workload.Metadata.NamespaceProperty == service.Metadata.NamespaceProperty
                && service.Spec.Selector.All(s => w.Pod.Metadata.Labels.TryGetValue(s.Key, out var v) && v == s.Value)).ToList();
            var workload = Assert.Single(selected);
            Assert.Equal(service.Metadata.Name, workload.Workload.Metadata.Name);
        }
        foreach (var deployment in objects.OfType<V1Deployment>())
        {
            Assert.All(deployment.Spec.Selector.MatchLabels, s => Assert.Equal(s.Value, deployment.Spec.Template.Metadata.Labels[s.Key]));
        }
    }

    [Fact]
    public async Task EveryServiceTargetAndProbePortIsAPortOfTheContainer()
    {
        var objects = await Manifests.BuiltAsync();
        var workloads = Manifests.Workloads(objects).ToDictionary(w => w.Workload.Metadata.Name);

        foreach (var service in objects.OfType<V1Service>())
        {
            var ports = workloads[service.Metadata.Name].Pod.Spec.Containers.SelectMany(c => c.Ports).ToList();
            Assert.All(service.Spec.Ports, p => Assert.Contains(ports, cp => cp.Name == p.TargetPort.Value || cp.ContainerPort.ToString() == p.TargetPort.Value));
        }
        foreach (var (_, pod) in workloads.Values)
        {
            // The workload's own container (a sidecar such as the config reloader lives and dies with it).
            var container = pod.Spec.Containers[0];
            foreach (var probe in new[] { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe })
            {
                Assert.NotNull(probe);
                Assert.Contains(container.Ports, p => p.Name == probe.HttpGet.Port.Value);
            }
        }
    }

    [Fact]
    public async Task TheComputeApiServesItsProbePathsAndItsScrapeAnnotationsPointAtItsMetrics()
    {
        var objects = await Manifests.BuiltAsync();
        var deployment = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "computeapi");
        var container = Assert.Single(deployment.Spec.Template.Spec.Containers);
        var annotations = deployment.Spec.Template.Metadata.Annotations;

        Assert.Equal("true", annotations["prometheus.io/scrape"]);
        Assert.Equal(container.Ports.Single(p => p.Name == "http").ContainerPort.ToString(), annotations["prometheus.io/port"]);
        var port = Repository.Images.Records.RuntimeDeps.Port;
        Assert.Equal(port, container.Ports.Single().ContainerPort);
        Assert.Contains(container.Env, e => e.Name == "HTTP_PORTS" && e.Value == $"{port}");

        await using var app = new WebApplicationFactory<Program>().WithWebHostBuilder(b => b.UseEnvironment("Production"));
        using var client = app.CreateClient();
        foreach (var path in new[] { container.LivenessProbe.HttpGet.Path, container.ReadinessProbe.HttpGet.Path, container.StartupProbe.HttpGet.Path })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"probe path {path} answered {response.StatusCode}");
        }
        using var metrics = await client.GetAsync(annotations["prometheus.io/path"]);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("# TYPE", await metrics.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheComputeApiRunsTheModelsReplicasBehindAClusterIpServiceOnPort80()
    {
        var objects = await Manifests.BuiltAsync();

        Assert.Equal(2, objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "computeapi").Spec.Replicas);
        var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "computeapi");
        Assert.Equal("ClusterIP", service.Spec.Type);
        var port = Assert.Single(service.Spec.Ports);
        Assert.Equal(80, port.Port);
        Assert.Equal("http", port.TargetPort.Value);
        var prometheus = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "prometheus");
        Assert.Equal("NodePort", prometheus.Spec.Type);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("overlays/dev")]
    [InlineData("overlays/production")]
    public async Task EveryContainerHasResourcesAndTheRestrictedSecurityContext(string folder)
    {
        var objects = await Manifests.BuiltAsync(folder);

        foreach (var (workload, pod) in Manifests.Workloads(objects))
        {
            var name = workload.Metadata.Name;
            Assert.True(pod.Spec.SecurityContext.RunAsNonRoot, name);
            Assert.True(pod.Spec.SecurityContext.RunAsUser > 0, name);
            Assert.Equal("RuntimeDefault", pod.Spec.SecurityContext.SeccompProfile.Type);
            foreach (var container in pod.Spec.Containers)
            {
                Assert.All(new[] { "cpu", "memory" }, r =>
                {
                    Assert.True(container.Resources.Requests.ContainsKey(r), $"{name}: {r} request");
                    Assert.True(container.Resources.Limits.ContainsKey(r), $"{name}: {r} limit");
                });
                Assert.False(container.SecurityContext.AllowPrivilegeEscalation, name);
                Assert.True(container.SecurityContext.ReadOnlyRootFilesystem, name);
                Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
                Assert.Null(container.SecurityContext.Capabilities.Add);
                Assert.Null(container.SecurityContext.Privileged);
            }
        }
    }

    [Fact]
    public async Task OnlyTheNodeAgentUsesTheHostAndItsNamespaceIsTheOnlyPrivilegedOne()
    {
        var objects = await Manifests.BuiltAsync();

        var namespaces = objects.OfType<V1Namespace>().ToDictionary(n => n.Metadata.Name, n => n.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
        Assert.Equal("restricted", namespaces["cloudapp"]);
        var agent = Assert.Single(objects.OfType<V1DaemonSet>());
        Assert.Equal("privileged", namespaces[agent.Metadata.NamespaceProperty]);
        // Not annotated: the node-exporter job finds the exporter's port on every node, this agent's or one already there.
        Assert.Null(agent.Spec.Template.Metadata.Annotations);
        Assert.True(agent.Spec.Template.Spec.HostNetwork);
        Assert.Contains(agent.Spec.Template.Spec.Containers[0].Ports, p => p.ContainerPort == Repository.Images.Records.NodeExporter.Port);
        Assert.All(objects.OfType<V1Deployment>(), d =>
        {
            Assert.Equal("cloudapp", d.Metadata.NamespaceProperty);
            Assert.Null(d.Spec.Template.Spec.HostNetwork);
            Assert.DoesNotContain(d.Spec.Template.Spec.Volumes ?? [], v => v.HostPath is not null);
        });
    }

    [Fact]
    public async Task NoImageIsUntaggedOrLatestAndTheComputeApiImageCanBeReplacedWithKustomize()
    {
        var objects = await Manifests.BuiltAsync();
        var images = Manifests.Workloads(objects).SelectMany(w => w.Pod.Spec.Containers).Select(c => c.Image).ToList();
        Assert.All(images, i =>
        {
            var tag = i[(i.LastIndexOf(':') + 1)..];
            Assert.True(i.LastIndexOf(':') > i.LastIndexOf('/') && tag != "latest", $"{i} must carry a pinned tag");
        });

        var result = await Manifests.KustomizeAsync(dir => File.WriteAllText(Path.Combine(dir, "kustomization.yaml"), """
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources: [k8s]
            images:
              - name: cloudapp/computeapi
                newName: registry.example.com/team/computeapi
                newTag: "1.2.3"
            """));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("image: registry.example.com/team/computeapi:1.2.3", result.Output);
        Assert.DoesNotContain("image: cloudapp/computeapi", result.Output);
    }

    [Fact]
    public async Task ConfigMapsCarryTheDeployFilesUnchanged()
    {
        var configMaps = (await Manifests.BuiltAsync()).OfType<V1ConfigMap>().ToDictionary(c => c.Metadata.Name);

        AssertSame(configMaps["prometheus-config"], Repository.Path("deploy", "prometheus", "kubernetes", "prometheus.yml"));
        AssertSame(configMaps["alertmanager-config"], Repository.Path("deploy", "alertmanager", "alertmanager.yml"));
        foreach (var rules in Directory.GetFiles(Repository.Path("deploy", "prometheus", "rules")))
        {
            AssertSame(configMaps["prometheus-rules"], rules);
        }
        foreach (var dashboard in Directory.GetFiles(Repository.Path("deploy", "grafana", "dashboards")))
        {
            AssertSame(configMaps["grafana-dashboards"], dashboard);
        }
        AssertSame(configMaps["grafana-provisioning-datasources"], Repository.Path("deploy", "grafana", "provisioning", "datasources", "prometheus.yml"));
        AssertSame(configMaps["grafana-provisioning-dashboards"], Repository.Path("deploy", "grafana", "provisioning", "dashboards", "cloudapp.yml"));

        static void AssertSame(V1ConfigMap map, string file) =>
            Assert.True(map.Data[Path.GetFileName(file)] == File.ReadAllText(file), $"{map.Metadata.Name} differs from {file}");
    }

    [Fact]
    public async Task AnOverlayThatChangesPrometheusConfigurationChangesTheConfigMapAndLeavesThePodsRunning()
    {
        static V1PodTemplateSpec PodOf(IEnumerable<object> objects) =>
            objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "prometheus").Spec.Template;

        var before = PodOf(await Manifests.BuiltAsync());
        var result = await Manifests.KustomizeAsync(root =>
        {
            // An overlay's own prometheus.yml, here the base's with a longer scrape interval.
            var changed = File.ReadAllText(Repository.Path("deploy", "prometheus", "kubernetes", "prometheus.yml"))
                .Replace("scrape_interval: 15s", "scrape_interval: 30s", StringComparison.Ordinal);
            Assert.Contains("scrape_interval: 30s", changed);
            File.WriteAllText(Path.Combine(root, "prometheus.yml"), changed);
            File.WriteAllText(Path.Combine(root, "kustomization.yaml"), """
                resources: [k8s/base]
                configMapGenerator:
                  - name: prometheus-config
                    namespace: cloudapp
                    behavior: replace
                    files: [prometheus.yml]
                """);
        });
        Assert.True(result.ExitCode == 0, result.ToString());
        var objects = k8s.KubernetesYaml.LoadAllFromString(result.Output, typeMap: null, strict: true);
        var after = PodOf(objects);

        // The same pod template: applying the overlay replaces the ConfigMap's data and no pod is recreated (a rollout
        // would replay the WAL in production and lose the base's emptyDir TSDB). The kubelet swaps the mounted files
        // and Prometheus reloads them in place (tests/Integration.Tests: ConfigReloadTests).
        Assert.Equal(k8s.KubernetesJson.Serialize(before), k8s.KubernetesJson.Serialize(after));
        var config = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "prometheus-config");
        Assert.Contains("scrape_interval: 30s", config.Data["prometheus.yml"]);
    }

    [Fact]
    public async Task ConfigurationIsMountedAsFoldersTheServersReloadInPlace()
    {
        var objects = await Manifests.BuiltAsync();
        var workloads = Manifests.Workloads(objects).ToDictionary(w => w.Workload.Metadata.Name, w => w.Pod.Spec);

        // subPath mounts never see an updated ConfigMap: every ConfigMap is mounted as a folder.
        foreach (var (name, pod) in workloads)
        {
            var configVolumes = (pod.Volumes ?? []).Where(v => v.ConfigMap is not null).Select(v => v.Name).ToHashSet();
            Assert.All(pod.Containers.SelectMany(c => c.VolumeMounts ?? []).Where(m => configVolumes.Contains(m.Name)),
                m => Assert.True(m.SubPath is null && m.ReadOnlyProperty == true, $"{name}: {m.MountPath}"));
        }

        // Prometheus checks its files itself, and finds its configuration in the mounted folder.
        var prometheus = workloads["prometheus"].Containers[0];
        Assert.Contains(prometheus.Args, a => a.StartsWith("--enable-feature=", StringComparison.Ordinal) && a.Contains("auto-reload-config", StringComparison.Ordinal));
        Assert.Contains("--config.auto-reload-interval=30s", prometheus.Args);
        var configFile = prometheus.Args.Single(a => a.StartsWith("--config.file=", StringComparison.Ordinal))["--config.file=".Length..];
        Assert.Contains(prometheus.VolumeMounts, m => m.MountPath == configFile[..configFile.LastIndexOf('/')]);

        // Alertmanager does not: its reloader watches every folder it mounts and posts to its reload endpoint.
        var alertmanager = workloads["alertmanager"];
        var server = alertmanager.Containers[0];
        var reloader = alertmanager.Containers.Single(c => c.Name == "config-reloader");
        Assert.Equal(Repository.Images.ConfigReloader.ToString(), reloader.Image);
        var watched = reloader.Args.Where(a => a.StartsWith("--watched-dir=", StringComparison.Ordinal)).Select(a => a["--watched-dir=".Length..]).ToHashSet();
        var configMounts = server.VolumeMounts.Where(m => alertmanager.Volumes.Single(v => v.Name == m.Name).ConfigMap is not null).Select(m => m.MountPath).ToHashSet();
        Assert.NotEmpty(configMounts);
        Assert.Equal(configMounts.Order(), watched.Order());
        var port = server.Ports.Single(p => p.Name == "http").ContainerPort;
        Assert.Contains($"--reload-url=http://127.0.0.1:{port}/-/reload", reloader.Args);
        Assert.True(reloader.SecurityContext.ReadOnlyRootFilesystem == true && reloader.SecurityContext.AllowPrivilegeEscalation == false);

        // Both tell their links the Service's address in the namespace they run in (an overlay may set EXTERNAL_URL).
        foreach (var (name, container) in new[] { ("prometheus", prometheus), ("alertmanager", server) })
        {
            Assert.Contains("--web.external-url=$(EXTERNAL_URL)", container.Args);
            var env = container.Env.Select(e => e.Name).ToList();
            Assert.True(env.IndexOf("POD_NAMESPACE") is >= 0 and var ns && ns < env.IndexOf("EXTERNAL_URL"), $"{name}: POD_NAMESPACE defined before use");
            var servicePort = objects.OfType<V1Service>().Single(s => s.Metadata.Name == name).Spec.Ports[0].Port;
            Assert.Equal($"http://{name}.$(POD_NAMESPACE).svc:{servicePort}/", container.Env.Single(e => e.Name == "EXTERNAL_URL").Value);
        }
    }

    [Fact]
    public async Task TheGrafanaAdminComponentReadsTheSecretTheDocumentedCommandCreatesWithNoTrailingNewline()
    {
        var component = Path.Combine(Manifests.Directory, "components", "grafana-admin", "kustomization.yaml");
        var command = File.ReadAllLines(component).Select(l => l.TrimStart('#').Trim()).Single(l => l.StartsWith("kubectl ", StringComparison.Ordinal));

        // The command exactly as documented, made client-side only: the Secret it would create.
        var created = await ExternalProgram.RunAsync("bash", ["-c", command + " --dry-run=client -o yaml"], TimeSpan.FromMinutes(1));
        Assert.True(created.ExitCode == 0, created.ToString());
        var secret = k8s.KubernetesYaml.Deserialize<V1Secret>(created.Output);
        var password = System.Text.Encoding.UTF8.GetString(secret.Data["password"]);
        Assert.Equal(32, password.Length);
        Assert.DoesNotContain('\n', password);

        // An overlay with the component: Grafana creates its admin with that Secret's password.
        var result = await Manifests.KustomizeAsync(root =>
            File.WriteAllText(Path.Combine(root, "kustomization.yaml"), "resources: [k8s/base]\ncomponents: [k8s/components/grafana-admin]\n"));
        Assert.True(result.ExitCode == 0, result.ToString());
        var grafana = k8s.KubernetesYaml.LoadAllFromString(result.Output, typeMap: null, strict: true).OfType<V1Deployment>()
            .Single(d => d.Metadata.Name == "grafana").Spec.Template.Spec;
        var volume = Assert.Single(grafana.Volumes, v => v.Secret is not null);
        Assert.Equal((secret.Metadata.Name, secret.Metadata.NamespaceProperty), (volume.Secret.SecretName, "cloudapp"));
        var container = grafana.Containers[0];
        var mount = Assert.Single(container.VolumeMounts, m => m.Name == volume.Name);
        Assert.Contains(container.Env, e => e.Name == "GF_SECURITY_ADMIN_PASSWORD__FILE" && e.Value == $"{mount.MountPath}/password");
        Assert.Contains(container.Env, e => e.Name == "GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION" && e.Value == "false");
    }
}
